"""Small template helpers of the IMR pages."""

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """``row|get:"column"``: a dict value by a key held in a variable."""
    return mapping.get(key)


@register.filter
def field(form, name):
    """``form|field:name``: a bound field by a name held in a variable."""
    return form[name]
