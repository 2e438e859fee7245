"""Writes platform.dict, the AFL++ dictionary: every key and enumerated value of the schema,
and TOML punctuation. Run from fuzz/ after the schema changes: python3 make_dict.py"""
import json

schema = json.load(open("../schemas/platform.schema.json"))
keys, enums = set(), set()


def walk(value):
    if isinstance(value, dict):
        keys.update(value.get("properties", {}))
        enums.update(e for e in value.get("enum", []) or [] if isinstance(e, str))
        for v in value.values():
            walk(v)
    elif isinstance(value, list):
        for v in value:
            walk(v)


walk(schema)
punctuation = ["[", "]", "[[", "]]", "{", "}", "=", ",", '"', "'", '"""', "'''", "#", ".",
               "true", "false", "-1", "0", "1e400", "nan", "inf", "1979-05-27"]


def quoted(token):
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


lines = [
    "# AFL++ dictionary: every key and enumerated value of schemas/platform.schema.json,",
    "# and TOML punctuation. Made with fuzz/make_dict.py; a stale entry only costs coverage.",
]
lines += [quoted(t) for t in punctuation] + ['"\\x0a"']
lines += [quoted(k) for k in sorted(keys)]
lines += [quoted('"' + e + '"') for e in sorted(enums)]
open("platform.dict", "w").write("\n".join(lines) + "\n")
