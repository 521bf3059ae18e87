"""Label and field selectors with the syntax and semantics of Kubernetes' labels.Parse/fields.Parse.

Label selector grammar (comma-separated requirements, all must hold; empty selector = everything):
    key            key exists           !key             key does not exist
    key=v, key==v  value equals v       key!=v           key missing or value != v
    key in (a,b)   value in set         key notin (a,b)  key missing or value not in set
    key>n, key<n   value is an integer greater/less than n
Parse errors raise SelectorError (the server answers 400 BadRequest with its message).
"""

import re

_KEY_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_KEY_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SPECIAL = "!=<>(),"


class SelectorError(ValueError):
    """A selector that does not parse; str() is the message for the 400 Status."""


def _tokenize(text):
    """Splits a label selector into identifier and operator tokens: ('id', s) or ('op', s)."""
    tokens, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith(("==", "!="), i):
            tokens.append(("op", text[i : i + 2]))
            i += 2
        elif c in _SPECIAL:
            tokens.append(("op", c))
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            tokens.append(("id", text[i:j]))
            i = j
    return tokens


def _check_key(key):
    """Raises SelectorError unless key is a qualified label key ([prefix/]name)."""
    prefix, _, name = key.rpartition("/")
    if not _KEY_NAME.match(name) or ("/" in key and (not prefix or len(prefix) > 253 or not _KEY_PREFIX.match(prefix))):
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r}: name part must consist of "
                            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")


def _check_value(value):
    """Raises SelectorError unless value is a valid label value (may be empty)."""
    if not _VALUE.match(value):
        raise SelectorError(f"unable to parse requirement: invalid label value: {value!r}: a valid label must be an "
                            "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                            "end with an alphanumeric character")


class LabelSelector:
    """A parsed label selector; matches(labels_dict) evaluates it."""

    def __init__(self, text):
        self.text = text or ""
        self.requirements = self._parse(_tokenize(self.text))

    def _parse(self, tokens):
        """Parses tokens into a list of (key, op, values) requirements."""
        reqs, pos = [], 0
        while pos < len(tokens):
            req, pos = self._parse_requirement(tokens, pos)
            reqs.append(req)
            if pos < len(tokens):
                if tokens[pos] != ("op", ","):
                    raise SelectorError(f"found '{tokens[pos][1]}', expected: ',' or 'end of string'")
                pos += 1
                if pos == len(tokens):
                    raise SelectorError("found 'end of string', expected: identifier")
        return reqs

    def _parse_requirement(self, tokens, pos):
        """Parses one requirement starting at tokens[pos]; returns (requirement, next position)."""
        negate = tokens[pos] == ("op", "!")
        if negate:
            pos += 1
        if pos >= len(tokens) or tokens[pos][0] != "id":
            found = tokens[pos][1] if pos < len(tokens) else "end of string"
            raise SelectorError(f"unable to parse requirement: found '{found}', expected: identifier")
        key = tokens[pos][1]
        _check_key(key)
        pos += 1
        at_end = pos >= len(tokens) or tokens[pos] == ("op", ",")
        if negate:
            if not at_end:
                raise SelectorError(f"unable to parse requirement: found '{tokens[pos][1]}', expected: ',' or 'end of string'")
            return (key, "!", ()), pos
        if at_end:
            return (key, "exists", ()), pos
        kind, op = tokens[pos]
        pos += 1
        if kind == "id" and op in ("in", "notin"):
            values, pos = self._parse_set(tokens, pos)
            return (key, op, values), pos
        if kind != "op" or op not in ("=", "==", "!=", "<", ">"):
            raise SelectorError(f"unable to parse requirement: found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        value = ""
        if pos < len(tokens) and tokens[pos][0] == "id":
            value = tokens[pos][1]
            pos += 1
        if op in ("<", ">"):
            try:
                int(value)
            except ValueError:
                raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value!r}")
        else:
            _check_value(value)
        return (key, "==" if op == "=" else op, (value,)), pos

    def _parse_set(self, tokens, pos):
        """Parses '(v1, v2, ...)' starting at tokens[pos]; returns (tuple of values, next position)."""
        if pos >= len(tokens) or tokens[pos] != ("op", "("):
            raise SelectorError("unable to parse requirement: found end of values, expected: '('")
        pos += 1
        if pos < len(tokens) and tokens[pos] == ("op", ")"):
            raise SelectorError("unable to parse requirement: for 'in', 'notin' operators, values set can't be empty")
        values = []
        while True:
            if pos < len(tokens) and tokens[pos][0] == "id":
                _check_value(tokens[pos][1])
                values.append(tokens[pos][1])
                pos += 1
            else:
                values.append("")  # "a in (x,)" also holds the empty value, as upstream
            if pos >= len(tokens):
                raise SelectorError("unable to parse requirement: found 'end of string', expected: ')'")
            if tokens[pos] == ("op", ")"):
                return tuple(values), pos + 1
            if tokens[pos] != ("op", ","):
                raise SelectorError(f"unable to parse requirement: found '{tokens[pos][1]}', expected: ',' or ')'")
            pos += 1

    def empty(self):
        """True when the selector has no requirements (matches everything)."""
        return not self.requirements

    def matches(self, labels):
        """True when every requirement holds for labels (a dict, possibly None)."""
        labels = labels or {}
        for key, op, values in self.requirements:
            if not _requirement_holds(labels, key, op, values):
                return False
        return True


def _requirement_holds(labels, key, op, values):
    """Evaluates one parsed requirement against labels."""
    present = key in labels
    value = labels.get(key)
    if op == "exists":
        return present
    if op == "!":
        return not present
    if op in ("==", "in"):
        return present and value in values
    if op in ("!=", "notin"):
        return not present or value not in values
    if not present:
        return False
    try:
        number = int(value)
    except ValueError:
        return False
    return number > int(values[0]) if op == ">" else number < int(values[0])


def _split_unescaped(text, sep):
    """Splits text at sep characters not preceded by a backslash (fields.Parse escaping)."""
    parts, cur, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if text[i] == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(text[i])
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text):
    """Removes field selector escapes: '\\,' -> ',', '\\=' -> '=', '\\\\' -> '\\'."""
    return re.sub(r"\\(.)", r"\1", text)


class FieldSelector:
    """A parsed field selector: requirements 'path=v', 'path==v', 'path!=v' joined by ','.

    allowed is the set of field paths the resource supports; others raise SelectorError with
    kube-apiserver's 'field label not supported' message.
    """

    def __init__(self, text, allowed, resource):
        self.text = text or ""
        self.requirements = []
        if not self.text:
            return
        for part in _split_unescaped(self.text, ","):
            match = re.match(r"^(.*?)(==|!=|=)(.*)$", part)
            if not match:
                raise SelectorError(f"invalid selector: '{self.text}'; can't understand '{part}'")
            field, op, value = match.group(1), match.group(2), _unescape(match.group(3))
            if field not in allowed:
                raise SelectorError(f'field label not supported: {field}')
            self.requirements.append((field, "!=" if op == "!=" else "==", value))
        self.resource = resource

    def empty(self):
        return not self.requirements

    def matches(self, obj):
        """True when every requirement holds for obj (a missing field reads as '')."""
        for field, op, value in self.requirements:
            actual = field_value(obj, field)
            if (actual == value) != (op == "=="):
                return False
        return True

    def names(self):
        """The metadata.name values the selector pins with '=' (used for single-object watches)."""
        return [v for f, op, v in self.requirements if f == "metadata.name" and op == "=="]


def field_value(obj, path):
    """The string value at a dotted path of obj; '' when absent. Booleans read 'true'/'false'."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)
