"""The runc wrapper runs real containers: output, exit codes, tty, exec, namespaces, security (`sim`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from runtime_support import Rt, drain, read_until, run_to_end, runtime

from kdbgtest.sim.node import spec
from kdbgtest.sim.node.runc import StartError

pytestmark = pytest.mark.sim

MISSING_RUN = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
    'failed: unable to start container process: exec: "foo": executable file not found in $PATH: unknown'
)
MISSING_EXEC = (
    "OCI runtime exec failed: exec failed: unable to start container process: "
    'exec: "sh": executable file not found in $PATH: unknown'
)


def test_busybox_container_prints_and_exits_with_its_code(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        rt.images.resolve("busybox:1.36")  # built (once per session) before timing
        started = time.monotonic()
        process = await rt.run("c1", ["sh", "-c", "echo out; echo err >&2; exit 7"])
        output = process.output()
        first = await anext(output)
        took = time.monotonic() - started
        print(f"\nbusybox container: first output after {took * 1000:.1f} ms")
        chunks = [first, *[chunk async for chunk in output]]
        assert b"".join(d for fd, d in chunks if fd == 1) == b"out\n"
        assert b"".join(d for fd, d in chunks if fd == 2) == b"err\n"
        assert await process.wait() == 7
        await rt.runc.delete("c1")
        result = await run_to_end(rt, "c2", ["sh", "-c", "echo out; echo err >&2; exit 7"])
        assert result == (7, "out\n", "err\n")
        killed = await rt.run("c3", ["sleep", "600"])
        await rt.runc.kill("c3", 9)
        assert await killed.wait() == 137  # as a runtime reports a SIGKILL
        await rt.runc.delete("c3")

    runtime(tmp_path_factory, scenario)


def test_missing_binary_fails_to_start_with_containerds_message(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        with pytest.raises(StartError) as caught:
            await rt.run("c1", ["foo"])
        assert (caught.value.kind, caught.value.message) == ("run", MISSING_RUN)
        assert await rt.runc.list_ids() == []
        assert not (rt.state / "bundles" / "c1").exists()

    runtime(tmp_path_factory, scenario)


def test_tty_container_resizes_and_ends_on_eof(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        process = await rt.run("tty", ["sh"], tty=True, stdin=True)
        output = process.output()
        await read_until(output, "# ")
        await process.resize(123, 45)
        await process.write_stdin(b"stty size; tty\n")
        seen = await read_until(output, "/dev/pts/0")
        assert "45 123\r\n" in seen, seen
        await process.resize(77, 11)
        await process.write_stdin(b"stty size\n")
        seen = await read_until(output, "11 77")
        assert "11 77\r\n" in seen
        if "# " not in seen.split("11 77", 1)[1]:
            await read_until(output, "# ")  # ^D at the prompt, as a person would (mid-command it may be lost)
        await process.close_stdin()
        assert await asyncio.wait_for(process.wait(), 10) == 0
        await rt.runc.delete("tty")

    runtime(tmp_path_factory, scenario)


def test_a_tty_container_starts_at_0x0_until_a_client_resizes_it(tmp_path_factory: pytest.TempPathFactory) -> None:
    """containerd starts a container's tty at 0x0 (`stty size` said 0 0 on the local v1.37.2 cluster), so the
    first attach's resize always changes the size and a full-screen program redraws."""

    async def scenario(rt: Rt) -> None:
        process = await rt.run("tty0", ["sh", "-c", "stty -a 2>/dev/null | head -n 1"], tty=True)
        out, _ = await drain(process)
        assert out.strip() == "speed 38400 baud; line = 0;", out  # busybox names rows and columns unless 0
        await process.wait()
        await rt.runc.delete("tty0")

    runtime(tmp_path_factory, scenario)


def test_exec_runs_in_the_container_and_reports_its_exit_code(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        main = await rt.run("main", ["sh", "-c", "echo ready > /tmp/mark; exec sleep 600"], hostname="web-1")
        output = main.output()
        for _ in range(100):
            exe = await rt.runc.exec("main", ["cat", "/tmp/mark"])
            if (await drain(exe))[0] == "ready\n":
                break
        script = "hostname; echo to-err >&2; exit 3"
        exe = await rt.runc.exec("main", ["sh", "-c", script], uid=1000, gid=1000)
        assert await drain(exe) == ("web-1\n", "to-err\n")
        assert await exe.wait() == 3
        exe = await rt.runc.exec("main", ["sh", "-c", "read line; echo got $line"], stdin=True)
        await exe.write_stdin(b"hello\n")
        await exe.close_stdin()
        assert await drain(exe) == ("got hello\n", "")
        tty = await rt.runc.exec("main", ["sh", "-c", "stty size"], tty=True, console_size=(90, 30))
        assert (await drain(tty))[0] == "30 90\r\n"
        with pytest.raises(StartError) as caught:
            await rt.runc.exec("main", ["sh-nope"])
        assert caught.value.kind == "exec"
        assert caught.value.message == MISSING_EXEC.replace('"sh"', '"sh-nope"')
        main.kill(15)  # ignored: the container's init (pid 1) has no handler for it
        main.kill(9)
        assert await main.wait() == 137
        assert [c async for c in output] == []
        await rt.runc.delete("main")

    runtime(tmp_path_factory, scenario)


def test_distroless_app_has_no_shell_and_answers_http_in_its_network_namespace(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        argv = ["/app", "--port=8081", "--message=hi from app"]
        app = await rt.run("app", argv, image="kdbgtest/distroless-app")
        output = app.output()
        await read_until(output, "listening on 0.0.0.0:8081")
        with pytest.raises(StartError) as caught:
            await rt.runc.exec("app", ["sh"])
        assert caught.value.message == MISSING_EXEC
        listing = rt.images.resolve("kdbgtest/distroless-app").rootfs
        assert sorted(p.name for p in listing.iterdir() if p.is_file()) == ["app"]
        netns = f"/proc/{app.pid}/ns/net"
        code, out, _ = await run_to_end(
            rt, "client", ["wget", "-qO-", "http://127.0.0.1:8081/healthz"], namespaces={"network": netns}
        )
        assert (code, out) == (0, "hi from app\n")
        assert "GET /healthz 200 from 127.0.0.1" in await read_until(output, "GET /healthz")
        await rt.runc.kill("app", 15)
        assert await app.wait() == 0  # the app handles SIGTERM and exits cleanly
        assert await rt.runc.list_ids() == ["app"]  # exited, not yet deleted
        await rt.runc.delete("app")

    runtime(tmp_path_factory, scenario)


def test_joined_pid_namespace_sees_target_process_and_filesystem(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        target = await rt.run("target", ["sh", "-c", "echo secret > /tmp/target-file; exec sleep 600"])
        pidns = f"/proc/{target.pid}/ns/pid"
        script = (
            "until [ -f /proc/1/root/tmp/target-file ]; do sleep 0.05; done;"
            "ps -o pid,args; cat /proc/1/root/tmp/target-file"
        )
        code, out, err = await run_to_end(rt, "debugger", ["sh", "-c", script], namespaces={"pid": pidns})
        assert code == 0, err
        assert "    1 sleep 600" in out and out.endswith("secret\n")
        target.kill(9)
        assert await target.wait() == 137
        await rt.runc.delete("target")

    runtime(tmp_path_factory, scenario)


def test_capabilities_user_and_readonly_rootfs(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        caps = "grep CapEff /proc/self/status"
        ptrace = [*spec.DEFAULT_CAPABILITIES, "CAP_SYS_PTRACE"]
        _, with_ptrace, _ = await run_to_end(rt, "p1", ["sh", "-c", caps], capabilities=ptrace)
        _, default, _ = await run_to_end(rt, "p2", ["sh", "-c", caps])
        assert int(with_ptrace.split()[1], 16) & (1 << 19)
        assert not int(default.split()[1], 16) & (1 << 19)
        assert int(default.split()[1], 16) == _mask(spec.DEFAULT_CAPABILITIES)
        _, user, _ = await run_to_end(rt, "u", ["sh", "-c", "id -u; id -g; " + caps], uid=1000, gid=1000)
        assert user.split()[:2] == ["1000", "1000"] and int(user.split()[3], 16) == 0
        code, _, err = await run_to_end(rt, "ro", ["touch", "/newfile"], readonly_rootfs=True)
        assert code == 1 and "Read-only file system" in err
        code, _, err = await run_to_end(rt, "rw", ["sh", "-c", "touch /newfile && ls /newfile"])
        assert code == 0, err
        assert not (rt.images.resolve("busybox").rootfs / "newfile").exists(), "the image cache was modified"

    runtime(tmp_path_factory, scenario)


def _mask(names: list[str]) -> int:
    return sum(1 << spec.ALL_CAPABILITIES.index(n) for n in names)


def test_exec_inherits_the_containers_user_env_and_cwd_unless_overridden(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        env = ["GREETING=hello", "PATH=/bin"]
        main = await rt.run("main", ["sleep", "600"], uid=1000, gid=1000, env=env, cwd="/tmp")
        script = "id -u; echo $GREETING; pwd; grep CapEff /proc/self/status"
        inherited = await rt.runc.exec("main", ["sh", "-c", script])
        out, _ = await drain(inherited)
        assert out.split()[:4] == ["1000", "hello", "/tmp", "CapEff:"] and int(out.split()[4], 16) == 0
        as_root = await rt.runc.exec("main", ["sh", "-c", script], uid=0, gid=0, cwd="/", env=["GREETING=hi"])
        out, _ = await drain(as_root)
        assert out.split()[:3] == ["0", "hi", "/"]
        main.kill(9)
        await main.wait()
        await rt.runc.delete("main")

    runtime(tmp_path_factory, scenario)


def test_seccomp_filter_is_installed_for_the_container_and_its_execs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["unshare", "sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }

    async def scenario(rt: Rt) -> None:
        script = "grep Seccomp: /proc/self/status; unshare -u true || echo denied"
        code, out, _ = await run_to_end(rt, "filtered", ["sh", "-c", script], seccomp=profile)
        assert (code, out.split()[:2], out.split()[-1]) == (0, ["Seccomp:", "2"], "denied")
        _, out, _ = await run_to_end(rt, "unconfined", ["sh", "-c", "grep Seccomp: /proc/self/status"])
        assert out.split() == ["Seccomp:", "0"]
        main = await rt.run("main", ["sleep", "600"], seccomp=profile)
        exe = await rt.runc.exec("main", ["grep", "Seccomp:", "/proc/self/status"])
        assert (await drain(exe))[0].split() == ["Seccomp:", "2"]
        main.kill(9)
        await main.wait()
        await rt.runc.delete("main")

    runtime(tmp_path_factory, scenario)
