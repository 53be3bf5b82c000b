#!/usr/bin/env python3
"""openapi_check.py - check an OpenAPI 3.1 document offline, for tests

    openapi_check.py DOC [--routes FILE] [--fields FILE]
    openapi_check.py DOC --validate SCHEMA INSTANCE

The first form prints one line per fault and exits 1 when there is one:
the document's structure as OpenAPI 3.1.x defines it (info, paths and
path templates against their path parameters, operations, responses
and their status keys, media types, request bodies, security schemes,
unique operationIds, every "$ref" resolving inside the document), every
schema of components.schemas being a valid JSON Schema 2020-12 (the
dialect of 3.1; checked with python3-jsonschema's meta-schema), and,
given --routes (lines "METHOD PATH") and --fields (lines "PATH" of
lib/fields.def), that each route is an operation and each field a
member of the Domain schema ("x-mxfeed-field").

The second form validates the JSON file INSTANCE against
components.schemas.SCHEMA ("$ref"s resolved in DOC) and prints the
errors, exit 1 when there are some.
"""
import json
import re
import sys

import jsonschema

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
STATUS = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX|default)$")


def pointer(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


def walk_refs(node, doc, where, faults):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                try:
                    pointer(doc, v)
                except (KeyError, TypeError, IndexError):
                    faults.append("%s: $ref %s does not resolve" % (where, v))
            else:
                walk_refs(v, doc, where + "/" + k, faults)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(v, doc, "%s/%d" % (where, i), faults)


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def check_media(doc, content, where, faults):
    if not isinstance(content, dict) or not content:
        faults.append("%s: content is not a non-empty map" % where)
        return
    for mt, m in content.items():
        if "/" not in mt:
            faults.append("%s: %r is not a media type" % (where, mt))
        if not isinstance(m, dict) or "schema" not in m:
            faults.append("%s %s: no schema" % (where, mt))


def structure(doc, faults):
    if not isinstance(doc, dict):
        faults.append("the document is not an object")
        return
    if not re.match(r"^3\.1\.[0-9]+$", str(doc.get("openapi", ""))):
        faults.append("openapi is %r, not 3.1.x" % doc.get("openapi"))
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) \
            or not isinstance(info.get("version"), str):
        faults.append("info needs title and version strings")
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        faults.append("paths is not an object")
        return
    comps = doc.get("components", {})
    schemes = comps.get("securitySchemes", {})
    for name, s in schemes.items():
        if s.get("type") not in {"apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"}:
            faults.append("securityScheme %s: bad type" % name)
        if s.get("type") == "http" and not s.get("scheme"):
            faults.append("securityScheme %s: http without scheme" % name)
    op_ids = set()
    for p, item in paths.items():
        if not p.startswith("/"):
            faults.append("path %s does not start with /" % p)
        template = set(re.findall(r"\{([^}]+)\}", p))
        for m, op in item.items():
            where = "%s %s" % (m.upper(), p)
            if m not in METHODS:
                if m not in {"summary", "description", "parameters", "servers", "$ref"}:
                    faults.append("%s: %r is no operation" % (p, m))
                continue
            oid = op.get("operationId")
            if oid is not None:
                if oid in op_ids:
                    faults.append("%s: operationId %s twice" % (where, oid))
                op_ids.add(oid)
            declared = set()
            for prm in op.get("parameters", []):
                prm = deref(doc, prm)
                if not isinstance(prm.get("name"), str) or \
                        prm.get("in") not in {"path", "query", "header", "cookie"}:
                    faults.append("%s: parameter without name or in" % where)
                    continue
                if ("schema" in prm) == ("content" in prm):
                    faults.append("%s: parameter %s needs schema or content" % (where, prm["name"]))
                if prm["in"] == "path":
                    declared.add(prm["name"])
                    if prm.get("required") is not True:
                        faults.append("%s: path parameter %s not required" % (where, prm["name"]))
            if declared != template:
                faults.append("%s: path parameters %s, template %s" % (where, sorted(declared), sorted(template)))
            resp = op.get("responses")
            if not isinstance(resp, dict) or not resp:
                faults.append("%s: no responses" % where)
                continue
            for st, r in resp.items():
                if not STATUS.match(st):
                    faults.append("%s: %r is no status" % (where, st))
                try:
                    r = deref(doc, r)
                except (KeyError, TypeError):
                    continue  # reported by walk_refs
                if not isinstance(r.get("description"), str):
                    faults.append("%s %s: no description" % (where, st))
                if "content" in r:
                    check_media(doc, r["content"], "%s %s" % (where, st), faults)
            if "requestBody" in op:
                rb = deref(doc, op["requestBody"])
                check_media(doc, rb.get("content"), where + " requestBody", faults)
            for req in op.get("security", []):
                for name in req:
                    if name not in schemes:
                        faults.append("%s: security scheme %s undefined" % (where, name))
    for name, s in comps.get("schemas", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(s)
        except jsonschema.exceptions.SchemaError as e:
            faults.append("schema %s: %s" % (name, e.message))
    walk_refs(doc, doc, "#", faults)


def fields_of(schema, out):
    if isinstance(schema, dict):
        if isinstance(schema.get("x-mxfeed-field"), str):
            out.add(schema["x-mxfeed-field"])
        for v in schema.values():
            fields_of(v, out)
    elif isinstance(schema, list):
        for v in schema:
            fields_of(v, out)


def completeness(doc, routes, fields, faults):
    if routes:
        for line in open(routes):
            if not line.strip():
                continue
            m, p = line.split()
            if m.lower() not in doc.get("paths", {}).get(p, {}):
                faults.append("route %s %s is not in the document" % (m, p))
    if fields:
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("Domain", "DomainPatch", "DomainCreate"):
            have = set()
            fields_of(schemas.get(name, {}), have)
            for line in open(fields):
                f = line.strip()
                if f and f not in have:
                    faults.append("field %s is not in schema %s" % (f, name))


def validate(doc, name, instance):
    schema = dict(doc)
    schema["$ref"] = "#/components/schemas/" + name
    v = jsonschema.Draft202012Validator(schema)
    errs = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
    for e in errs:
        print("%s: %s" % ("/".join(str(x) for x in e.path) or "(top)", e.message))
    return 1 if errs else 0


def main(argv):
    doc = json.load(open(argv[1]))
    if len(argv) == 5 and argv[2] == "--validate":
        return validate(doc, argv[3], json.load(open(argv[4])))
    routes = fields = None
    i = 2
    while i < len(argv):
        if argv[i] == "--routes":
            routes = argv[i + 1]
        elif argv[i] == "--fields":
            fields = argv[i + 1]
        else:
            print("usage: openapi_check.py DOC [--routes FILE] [--fields FILE]")
            return 2
        i += 2
    faults = []
    structure(doc, faults)
    completeness(doc, routes, fields, faults)
    for f in faults:
        print(f)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
