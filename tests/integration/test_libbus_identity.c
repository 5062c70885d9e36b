/* test_libbus_identity.c: bus_get_pidfd() through a real busd, over stream
 * and seqpacket: the descriptor names the process that connected (not the
 * one asking, not a later one), arrives with its own answer even when other
 * traffic and other descriptors come first, and the errors for no such peer
 * and a bad request. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_libbus_common.h"

#define NAME "org.example.Identity"

/* The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:\t1234"), or -1. */
static long fdinfo_pid(int fd)
{
        char path[64], line[256];
        long pid = -1;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Pid:\t%ld", &pid) == 1)
                        break;
        fclose(f);
        return pid;
}

static void owner_child(const char *addr, int ready_fd, void *userdata)
{
        struct bus *bus = open_bus(addr, "identity owner");
        char msg[64];

        CHECK_EQ_INT(bus_request_name(bus, NAME, 0), BUS_NAME_PRIMARY_OWNER);
        snprintf(msg, sizeof(msg), "%s", bus_unique_id(bus));
        child_ready(ready_fd, msg);
        bus_run(bus); /* until killed */
        _exit(1);
}

static bool kernel_has_peerpidfd(void)
{
        int sv[2], fd = -1;
        socklen_t len = sizeof(fd);
        bool ok;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                return false;
        ok = getsockopt(sv[0], SOL_SOCKET, 77 /* SO_PEERPIDFD */, &fd, &len) == 0;
        if (fd >= 0)
                close(fd);
        close(sv[0]);
        close(sv[1]);
        return ok;
}

static void test_pidfd(const char *addr, bool seq)
{
        struct bus *bus = open_bus(addr, "asker");
        char unique[64];
        pid_t child = child_start(addr, owner_child, NULL, unique, sizeof(unique));
        int fd = -1, fd2 = -1, fd3 = -1;
        pid_t pid = 0;

        if (!kernel_has_peerpidfd()) {
                CHECK_EQ_INT(bus_get_pidfd(bus, NAME, &fd, &pid), -EOPNOTSUPP);
                CHECK_STREQ(bus_last_error_code(bus), "unsupported");
                kill(child, SIGKILL);
                child_wait(child);
                bus_close(bus);
                return;
        }
        /* by well-known name */
        CHECK_EQ_INT(bus_get_pidfd(bus, NAME, &fd, &pid), 0);
        CHECK_EQ_INT(pid, child);
        CHECK_EQ_INT(fdinfo_pid(fd), child);
        CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        /* it is a live process handle: signal 0 reaches it */
        CHECK_EQ_INT(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0), 0);

        /* by unique id, and again: each answer takes its own descriptor */
        CHECK_EQ_INT(bus_get_pidfd(bus, unique, &fd2, NULL), 0);
        CHECK_EQ_INT(bus_get_pidfd(bus, unique, &fd3, NULL), 0);
        CHECK(fd2 != fd && fd3 != fd2);
        CHECK_EQ_INT(fdinfo_pid(fd2), child);
        CHECK_EQ_INT(fdinfo_pid(fd3), child);

        /* the asker's own connection: its own pid */
        int self_fd = -1;
        CHECK_EQ_INT(bus_get_pidfd(bus, bus_unique_id(bus), &self_fd, &pid), 0);
        CHECK_EQ_INT(pid, getpid());
        CHECK_EQ_INT(fdinfo_pid(self_fd), getpid());
        close(self_fd);

        /* the pidfd follows that process: readable once it has exited */
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        CHECK_EQ_INT(poll(&pfd, 1, 0), 0);
        kill(child, SIGKILL);
        CHECK_EQ_INT(child_wait(child), 128 + SIGKILL);
        CHECK_EQ_INT(poll(&pfd, 1, 10000), 1);
        CHECK(pfd.revents & POLLIN);
        close(fd);
        close(fd2);
        close(fd3);

        /* nobody owns the name any more */
        sync_bus(bus);
        fd = -1;
        CHECK_EQ_INT(bus_get_pidfd(bus, NAME, &fd, NULL), -ENOENT);
        CHECK_STREQ(bus_last_error_code(bus), "no_owner");
        CHECK_EQ_INT(fd, -1);
        CHECK_EQ_INT(bus_get_pidfd(bus, NULL, &fd, NULL), -EINVAL);

        /* a wrong parameter is named */
        struct json_object *p = json_tokener_parse("{\"name\":\"x.y\"}");
        CHECK_EQ_INT(bus_call(bus, "org.busd", "pidfd", p, 10000, NULL), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "invalid_params");
        CHECK_CONTAINS(bus_last_error(bus), "takes: peer");
        json_object_put(p);
        bus_close(bus);
}

static void all(const char *addr, bool seq)
{
        test_pidfd(addr, seq);
}

int main(void)
{
        run_both("identity", all);
        return 0;
}
