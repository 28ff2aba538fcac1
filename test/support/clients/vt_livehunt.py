"""vt-py, VirusTotal's own Python client, used as a Livehunt user would use it, unmodified.

Against VT_HOST (the emulator's origin; vt-py appends /api/v3) with VT_APIKEY it creates
rulesets, lists them through a filter over several pages, patches one, shares it and reads its
editors and owner as objects, deletes it, and provokes a 400 (a rule that does not compile)
and a 401 (a wrong key). Each step prints one JSON line {"kind": <step>, ...} on stdout; the
test asserts on them. Any unexpected exception ends the script with exit code 1.
"""

import json
import os
import sys

import vt

RULE = 'rule {name} {{ strings: $a = "{name}" condition: $a }}'
PREFIX = "vtpy_"


def emit(kind, **fields):
    sys.stdout.write(json.dumps({"kind": kind, **fields}) + "\n")
    sys.stdout.flush()


def api_error(call):
    try:
        call()
    except vt.APIError as err:
        return {"code": err.code, "message": err.message}
    return None


def main():
    host = os.environ["VT_HOST"]
    client = vt.Client(os.environ["VT_APIKEY"], host=host)
    try:
        ids = []
        for n in range(5):
            ruleset = vt.Object("hunting_ruleset")
            ruleset.name = f"{PREFIX}{n}"
            ruleset.rules = RULE.format(name=f"{PREFIX}{n}")
            ruleset.enabled = True
            ruleset.notification_emails = ["soc@example.com"]
            created = client.post_object("/intelligence/hunting_rulesets", obj=ruleset)
            ids.append(created.id)
            emit("created", id=created.id, name=created.name, enabled=created.enabled, type=created.type)
        other = vt.Object("hunting_ruleset", obj_attributes={"name": "unrelated", "rules": RULE.format(name="unrelated")})
        client.post_object("/intelligence/hunting_rulesets", obj=other)

        # batch_size 2: the iterator must follow the cursor over three pages.
        listed = client.iterator("/intelligence/hunting_rulesets", params={"filter": f"name:{PREFIX}"}, batch_size=2)
        emit("listed", names=sorted(r.name for r in listed))

        target = client.get_object(f"/intelligence/hunting_rulesets/{ids[0]}")
        target.enabled = False
        target.rules = RULE.format(name=f"{PREFIX}patched")
        patched = client.patch_object(f"/intelligence/hunting_rulesets/{ids[0]}", obj=target)
        emit("patched", id=patched.id, enabled=patched.enabled, rules=patched.rules, name=patched.name)

        client.post(
            f"/intelligence/hunting_rulesets/{ids[0]}/relationships/editors",
            json_data={"data": [{"type": "user", "id": "analyst"}, {"type": "group", "id": "soc_team"}]},
        )
        editors = [{"type": e.type, "id": e.id} for e in client.iterator(f"/intelligence/hunting_rulesets/{ids[0]}/editors")]
        emit("editors", editors=editors)
        owner = client.get_object(f"/intelligence/hunting_rulesets/{ids[0]}/owner")
        emit("owner", type=owner.type, id=owner.id)

        client.delete(f"/intelligence/hunting_rulesets/{ids[0]}")
        gone = api_error(lambda: client.get_object(f"/intelligence/hunting_rulesets/{ids[0]}"))
        emit("deleted", after=gone)

        broken = vt.Object("hunting_ruleset", obj_attributes={"name": "broken", "rules": "rule broken { condition: }"})
        emit("invalid", error=api_error(lambda: client.post_object("/intelligence/hunting_rulesets", obj=broken)))
    finally:
        client.close()

    wrong = vt.Client("not-a-key", host=host)
    try:
        emit("unauthorized", error=api_error(lambda: wrong.get_object(f"/intelligence/hunting_rulesets/{ids[1]}")))
    finally:
        wrong.close()
    emit("done", version=vt.__version__)


if __name__ == "__main__":
    main()
