import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "gu", "hi"])
def test_each_language_is_offered_by_its_own_name_whatever_the_page_language(
    client, bob, asha, sms_outbox, language
):
    client.force_login(bob)
    client.post("/i18n/setlang/", {"language": language, "next": "/verify/"})
    form = client.get("/verify/").content.decode()
    response = client.post(
        "/verify/", {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    )
    consent = client.get(response["Location"]).content.decode()
    picker = form[form.index('<select id="language"') :].split("</select>")[0]
    read_in = consent[consent.index('class="read-in__choices"') :].split("</span>")[0]
    for choices in (picker, read_in):
        for name in ("English", "ગુજરાતી", "हिन्दी"):
            assert f">{name}</" in choices
