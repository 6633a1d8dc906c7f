"""Validation of submitted data against a user task's camunda:formData fields."""
from datetime import date, datetime

from qihu.engine.errors import ValidationFailed

TRUE = {"true", "1", "yes", "on", "是"}
FALSE = {"false", "0", "no", "off", "否", ""}


def describe(form):
    """A plain-dict view of a form, for the REST API and templates."""
    fields = []
    for f in getattr(form, "fields", []) or []:
        d = {"id": f.id, "label": f.label or f.id, "type": f.type, "default": f.default_value,
             "validation": {v.name: v.config for v in f.validation},
             "properties": {p.id: p.value for p in f.properties}}
        if f.type == "enum":
            d["options"] = [{"id": o.id, "name": o.name} for o in f.options]
        fields.append(d)
    return {"key": getattr(form, "key", None), "fields": fields}


def _convert(field, value):
    t = field.type
    if t in ("long", "integer"):
        if isinstance(value, bool):
            raise ValueError("应为整数 (a whole number)")
        return int(value)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise ValueError("应为是/否 (true or false)")
    if t == "date":
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        s = str(value).strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"):
            try:
                return datetime.strptime(s, fmt).date().isoformat() if fmt in ("%Y-%m-%d", "%d/%m/%Y") \
                    else datetime.strptime(s, fmt).isoformat()
            except ValueError:
                continue
        raise ValueError("应为日期 YYYY-MM-DD (a date)")
    if t == "enum":
        ids = [o.id for o in field.options]
        if str(value) not in ids:
            raise ValueError(f"应为以下之一 (one of): {', '.join(ids)}")
        return str(value)
    return value if isinstance(value, str) else str(value)


def validate(form, data, existing=None):
    """Return cleaned data (typed values) or raise ValidationFailed with per-field errors.

    `existing`: the task's current variables; an optional field left out keeps its value
    there, and otherwise becomes its default (or None)."""
    data = dict(data or {})
    errors = {}
    for field in getattr(form, "fields", []) or []:
        rules = {v.name: v.config for v in field.validation}
        present = field.id in data and data[field.id] not in (None, "")
        if not present:
            if "required" in rules:
                errors[field.id] = "必填 (required)"
                continue
            # Like Camunda, a field left out still becomes a variable (its default, else None),
            # so a later condition naming it does not fail on a missing name.
            if existing is not None and field.id in existing and field.id not in data:
                continue
            default = field.default_value
            try:
                data[field.id] = _convert(field, default) if default not in (None, "") else None
            except (TypeError, ValueError):
                data[field.id] = None
            continue
        try:
            value = _convert(field, data[field.id])
        except (TypeError, ValueError) as e:
            errors[field.id] = str(e) if str(e) and not str(e).startswith("invalid literal") else "格式不正确 (invalid value)"
            continue
        try:
            if "minlength" in rules and len(value) < int(rules["minlength"]):
                errors[field.id] = f"至少 {rules['minlength']} 个字符 (too short)"
            elif "maxlength" in rules and len(value) > int(rules["maxlength"]):
                errors[field.id] = f"最多 {rules['maxlength']} 个字符 (too long)"
            elif "min" in rules and float(value) < float(rules["min"]):
                errors[field.id] = f"不能小于 {rules['min']} (too small)"
            elif "max" in rules and float(value) > float(rules["max"]):
                errors[field.id] = f"不能大于 {rules['max']} (too large)"
        except (TypeError, ValueError):
            errors[field.id] = "格式不正确 (invalid value)"
            continue
        data[field.id] = value
    if errors:
        raise ValidationFailed("表单有误 (invalid form): " + "; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    return data
