"""test_protocol_examples.py - proto/: every schema is a valid JSON Schema,
every body named in API.md has a schema and an example, every example
validates against its schema, and the schemas refuse what they should."""

import copy
import json
import re

import jsonschema
import pytest

from ecc import PROTO, SCHEMAS

# Every body named in proto/API.md, plus "user" (the POST /v1/users reply).
BODIES = ["error", "health", "login", "token", "revisions", "revision",
          "diff", "tree", "commit", "commit-result", "rollback", "views",
          "manifest", "watch", "subclusters", "subcluster-create", "users",
          "user", "user-create", "password", "enroll", "enrolled", "nodes",
          "node-status", "managers", "audit"]


def example(name):
    return json.loads((PROTO / "examples" / f"{name}.json").read_text())


def test_protocol__every_body_has_schema_and_example():
    assert sorted(BODIES) == SCHEMAS.names()
    examples = sorted(p.name[:-5] for p in (PROTO / "examples").glob("*.json"))
    assert examples == sorted(BODIES)


def test_protocol__api_md_names_only_existing_schemas():
    text = (PROTO / "API.md").read_text()
    named = set(re.findall(r"([a-z-]+)\.schema\.json", text))
    assert named, "API.md names no schema"
    missing = named - set(SCHEMAS.names())
    assert not missing, f"API.md names schemas that do not exist: {missing}"
    unnamed = set(SCHEMAS.names()) - named - {"user"}
    assert not unnamed, f"schemas API.md does not mention: {unnamed}"


@pytest.mark.parametrize("name", BODIES)
def test_protocol__schema_is_valid(name):
    schema = SCHEMAS.schemas[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("type") == "object"
    assert schema.get("additionalProperties") is False


@pytest.mark.parametrize("name", BODIES)
def test_protocol__example_validates(name):
    SCHEMAS.validate(name, example(name))


@pytest.mark.parametrize("name", BODIES)
def test_protocol__unknown_member_refused(name):
    bad = copy.deepcopy(example(name))
    bad["unexpected_member"] = 1
    with pytest.raises(AssertionError):
        SCHEMAS.validate(name, bad)


@pytest.mark.parametrize("name", BODIES)
def test_protocol__missing_required_refused(name):
    schema = SCHEMAS.schemas[name]
    for member in schema.get("required", []):
        bad = copy.deepcopy(example(name))
        del bad[member]
        with pytest.raises(AssertionError):
            SCHEMAS.validate(name, bad)


BAD_INSTANCES = [
    ("error", {"error": {"code": "conflict", "message": "x"}}),
    ("error", {"error": {"code": "out_of_date", "message": "x"}}),
    ("error", {"error": {"code": "rejected", "message": "x"}}),
    ("error", {"error": {"code": "invalid", "message": ""}}),
    ("token", {"token": "abc", "expires_in": 3600, "username": "admin",
               "role": "admin"}),
    ("token", {"token": "0" * 64, "expires_in": 3600, "username": "admin",
               "role": "root"}),
    ("health", {"status": "ok", "head": -1, "store": "file",
                "version": "0.1.0"}),
    ("revisions", {"head": 1, "revisions": [
        {"revision": 1, "commit": "XYZ", "author": "a", "time": 0,
         "message": ""}]}),
    ("revision", {"revision": 1, "commit": "0" * 40, "author": "a",
                  "time": 0, "message": "", "changes": [
                      {"path": "a", "action": "R"}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "../etc/passwd", "action": "write", "content": ""}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "global/.git/config", "action": "write", "content": ""}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "/etc/passwd", "action": "delete"}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "global//a", "action": "delete"}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "global/a", "action": "write", "content": "not base64!"}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "global/a", "action": "write", "content": "",
         "mode": "0777"}]}),
    ("commit", {"base": 1, "message": "m", "changes": [
        {"path": "global/a", "action": "delete", "content": ""}]}),
    ("commit", {"base": -1, "message": "m", "changes": []}),
    ("tree", {"revision": 1, "commit": "0" * 40, "files": [
        {"path": "a", "mode": "644", "size": 1, "blob": "0" * 40}]}),
    ("manifest", {"format": 2, "view": "default", "revision": 1,
                  "commit": "0" * 40, "files": []}),
    ("manifest", {"format": 1, "view": "Default", "revision": 1,
                  "commit": "0" * 40, "files": []}),
    ("subcluster-create", {"name": "East"}),
    ("subcluster-create", {"name": "two words"}),
    ("user-create", {"name": "alice", "password": "short", "role": "admin"}),
    ("password", {"password": "1234567"}),
    ("rollback", {"revision": 1, "message": "m", "paths": []}),
    ("watch", {"view": "default", "revision": 1, "head": 1,
               "changed": "yes"}),
]


@pytest.mark.parametrize("name,instance", BAD_INSTANCES,
                         ids=[f"{n}-{i}" for i, (n, _) in
                              enumerate(BAD_INSTANCES)])
def test_protocol__bad_instance_refused(name, instance):
    with pytest.raises(AssertionError):
        SCHEMAS.validate(name, instance)


def test_protocol__commit_paths_accept_normal_names():
    body = {"base": 3, "message": "m", "changes": [
        {"path": "global/ecelerity.conf", "action": "delete"},
        {"path": "default/mta1.example.com/a..b.conf", "action": "delete"},
        {"path": "default/default/.hidden", "action": "delete"},
        {"path": "global/x.gitignore", "action": "write", "content": "",
         "mode": "0755"}]}
    SCHEMAS.validate("commit", body)
