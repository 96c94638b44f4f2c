"""What the admin pages of both apps share."""

from django.forms.models import BaseInlineFormSet


class LabelledInlineFormSet(BaseInlineFormSet):
    """A tabular inline shows each field's name once, as a column heading, which does not
    name the boxes below it for a screen reader (axe: select-name, label). Every box of
    every row is named by its field's label instead, the row's delete box included."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field in form.fields.values():
            if field.label:
                # The admin wraps a related field's widget (RelatedFieldWidgetWrapper),
                # and renders the inner one: name that.
                widget = getattr(field.widget, "widget", field.widget)
                widget.attrs.setdefault("aria-label", str(field.label))
