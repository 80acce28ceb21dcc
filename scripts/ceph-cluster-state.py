#!/usr/bin/python3
"""What scripts/ceph-cluster.sh asks its throw-away cluster, over one librados
connection (Debian's python3-rados, installed with the ceph CLI). The cluster has no
manager, so `ceph pg ls` and friends would hang: each placement group is asked
directly (`pg PGID query`, answered by its primary OSD). Using one connection instead
of a `ceph` process per question keeps a poll at a few milliseconds.

  ceph-cluster-state.py CONF POOL up-from N            osd.N's up_from epoch (0: down)
  ceph-cluster-state.py CONF POOL wait-booted N EPOCH S
      waits up to S seconds until osd.N is up with up_from > EPOCH (it booted again)
  ceph-cluster-state.py CONF POOL wait-clean S
      waits up to S seconds until every OSD is up and in and every placement group of
      POOL is active+clean at the current map epoch; prints the seconds it took
  ceph-cluster-state.py CONF POOL primary OBJECT [NAMESPACE]
      the id of the OSD acting as primary for OBJECT

Exit status 1 with a message on stderr when a wait runs out or the cluster does not
answer.
"""
import json
import sys
import time

import rados

# How long one command may take: a placement group whose primary died and is not yet
# marked down does not answer.
COMMAND_TIMEOUT_S = 5


def fail(message):
    print(f"ceph-cluster: {message}", file=sys.stderr)
    sys.exit(1)


def mon(cluster, **command):
    command["format"] = "json"
    ret, out, err = cluster.mon_command(
        json.dumps(command), b"", timeout=COMMAND_TIMEOUT_S)
    if ret != 0:
        fail(f"ceph {command['prefix']}: {err or ret}")
    return json.loads(out)


def osd_map(cluster):
    return mon(cluster, prefix="osd dump")


def up_from(osdmap, osd):
    for o in osdmap["osds"]:
        if o["osd"] == osd:
            return o["up_from"] if o["up"] == 1 else 0
    fail(f"no osd.{osd} in the map")


def pool_pgs(osdmap, pool):
    for p in osdmap["pools"]:
        if p["pool_name"] == pool:
            return [f"{p['pool']}.{i:x}" for i in range(p["pg_num"])]
    fail(f"no pool {pool}")


def unclean(cluster, osdmap, pool):
    """What keeps the cluster from being clean, as short strings (empty when clean)."""
    problems = [f"osd.{o['osd']} down or out" for o in osdmap["osds"]
                if o["up"] != 1 or o["in"] != 1]
    if problems:
        return problems
    for pg in pool_pgs(osdmap, pool):
        try:
            ret, out, _ = cluster.pg_command(
                pg, json.dumps({"prefix": "pg", "pgid": pg, "cmd": "query",
                                "format": "json"}), b"", timeout=COMMAND_TIMEOUT_S)
        except rados.Error as e:
            problems.append(f"pg {pg}: {e}")
            continue
        if ret != 0:
            problems.append(f"pg {pg}: no answer ({ret})")
            continue
        q = json.loads(out)
        if q["state"] != "active+clean":
            problems.append(f"pg {pg} {q['state']}")
        elif q["epoch"] < osdmap["epoch"]:
            # Its primary has not seen the latest map (an OSD just left or came back):
            # "clean" may be stale.
            problems.append(f"pg {pg} at epoch {q['epoch']} < {osdmap['epoch']}")
    return problems


def wait(seconds, what, check):
    begin = time.monotonic()
    while True:
        problems = check()
        if not problems:
            return time.monotonic() - begin
        if time.monotonic() - begin > seconds:
            fail(f"{what} not reached in {seconds} s: {'; '.join(problems)}")
        time.sleep(0.2)


def main():
    conf, pool, verb, *args = sys.argv[1:]
    cluster = rados.Rados(conffile=conf)
    try:
        cluster.connect(timeout=20)
    except rados.Error as e:
        fail(f"cannot connect to the cluster of {conf}: {e}")
    if verb == "up-from":
        print(up_from(osd_map(cluster), int(args[0])))
    elif verb == "wait-booted":
        osd, epoch, seconds = int(args[0]), int(args[1]), float(args[2])

        def booted():
            now = up_from(osd_map(cluster), osd)
            return [] if now > epoch else [f"osd.{osd} up_from {now}"]
        wait(seconds, f"osd.{osd} up again", booted)
    elif verb == "wait-clean":
        took = wait(float(args[0]), "every placement group active+clean",
                    lambda: unclean(cluster, osd_map(cluster), pool))
        print(f"{took:.1f}")
    elif verb == "primary":
        command = {"prefix": "osd map", "pool": pool, "object": args[0]}
        if len(args) > 1 and args[1]:
            command["nspace"] = args[1]
        print(mon(cluster, **command)["acting_primary"])
    else:
        fail(f"unknown question {verb}")
    cluster.shutdown()


if __name__ == "__main__":
    main()
