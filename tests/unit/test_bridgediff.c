/* test_bridgediff.c: busd/bridge/bridgediff.c, what a reload (SIGHUP) does to
 * each link of the bridge (docs/bridge.md, "Reload"): added, removed, kept,
 * filters swapped in place, restarted and why, bridge-wide restarts and the
 * tuning values applied in place. Pure: two parsed configurations. */
#include <stdio.h>
#include <string.h>

#include "bridgecfg.h"
#include "bridgediff.h"
#include "test.h"

#define HEAD "{\"cert\":\"/c.pem\",\"key\":\"/k.pem\",\"ca\":\"/ca.pem\",\"listen\":[\"10.0.0.1:7400\"],"
#define TO_B                                                                                              \
        "{\"name\":\"to-b\",\"connect\":\"10.0.0.2:7400\",\"peers\":[\"busd-b\",\"busd-b2\"],"            \
        "\"export\":{\"topics\":[\"a.>\",\"b.>\"],\"names\":[\"org.example.*\"]},\"import\":{\"topics\":" \
        "[\">\"],\"names\":[\"*\"]}}"
#define FROM_C "{\"name\":\"from-c\",\"peers\":[\"busd-c\"],\"export\":{\"topics\":[\"alerts.>\"]}}"

static struct bridge_config OLD, NEW;
static struct bridgediff_plan P;

static void parse(struct bridge_config *c, const char *text)
{
        char err[256];

        bridgecfg_free(c);
        memset(c, 0, sizeof(*c));
        if (bridgecfg_parse(text, strlen(text), c, err, sizeof(err)) < 0) {
                fprintf(stderr, "test config does not parse: %s\n%s\n", err, text);
                exit(1);
        }
}

/* The plan from the old text to the new one (credential files unchanged). */
static void plan(const char *old, const char *new)
{
        parse(&OLD, old);
        parse(&NEW, new);
        bridgediff_plan(&OLD, &NEW, true, &P);
}

static void test_same_file_keeps_everything(void)
{
        const char *t = HEAD "\"links\":[" TO_B "," FROM_C "]}";

        plan(t, t);
        CHECK(P.act[0] == BRIDGEDIFF_KEEP && P.from[0] == 0);
        CHECK(P.act[1] == BRIDGEDIFF_KEEP && P.from[1] == 1);
        CHECK(!P.removed[0] && !P.removed[1]);
        CHECK(!P.restart_all && !P.tuning && !P.listen);
        /* order in the file and of peers in a list does not matter */
        plan(t, HEAD "\"links\":[" FROM_C ","
                     "{\"name\":\"to-b\",\"connect\":\"10.0.0.2:7400\",\"peers\":[\"busd-b2\",\"busd-b\"],"
                     "\"export\":{\"topics\":[\"b.>\",\"a.>\"],\"names\":[\"org.example.*\"]},\"import\":{"
                     "\"topics\":[\">\"],\"names\":[\"*\"]}}]}");
        CHECK(P.act[0] == BRIDGEDIFF_KEEP && P.from[0] == 1);
        CHECK(P.act[1] == BRIDGEDIFF_KEEP && P.from[1] == 0);
}

static void test_added_and_removed(void)
{
        plan(HEAD "\"links\":[" TO_B "]}", HEAD "\"links\":[" FROM_C "]}");
        CHECK(P.act[0] == BRIDGEDIFF_ADD && P.from[0] == BRIDGEDIFF_NONE);
        CHECK(P.removed[0]);
        plan(HEAD "\"links\":[" TO_B "]}", HEAD "\"links\":[" TO_B "," FROM_C "]}");
        CHECK(P.act[0] == BRIDGEDIFF_KEEP && !P.removed[0]);
        CHECK(P.act[1] == BRIDGEDIFF_ADD);
}

static void test_what_restarts_a_link(void)
{
        const char *old = HEAD "\"links\":[" TO_B "," FROM_C "]}";

        plan(old, HEAD "\"links\":[{\"name\":\"to-b\",\"connect\":\"10.0.0.3:7400\",\"peers\":[\"busd-b\","
                       "\"busd-b2\"],\"export\":{\"topics\":[\"a.>\",\"b.>\"],\"names\":[\"org.example.*\"]},"
                       "\"import\":{\"topics\":[\">\"],\"names\":[\"*\"]}}," FROM_C "]}");
        CHECK(P.act[0] == BRIDGEDIFF_RESTART);
        CHECK_CONTAINS(P.why[0], "connect");
        CHECK(P.act[1] == BRIDGEDIFF_KEEP); /* the other link is not touched */
        plan(old, HEAD "\"links\":[" TO_B ",{\"name\":\"from-c\",\"peers\":[\"busd-d\"],\"export\":{\"topics\":"
                       "[\"alerts.>\"]}}]}");
        CHECK(P.act[0] == BRIDGEDIFF_KEEP);
        CHECK(P.act[1] == BRIDGEDIFF_RESTART);
        CHECK_CONTAINS(P.why[1], "peers");
        plan(old, HEAD "\"links\":[" TO_B ",{\"name\":\"from-c\",\"peers\":[\"busd-c\"],\"export\":{\"topics\":"
                       "[\"alerts.>\"]},\"import\":{\"names\":[\"org.example.Printer\"]}}]}");
        CHECK(P.act[1] == BRIDGEDIFF_RESTART);
        CHECK_CONTAINS(P.why[1], "import names");
}

static void test_filters_are_swapped_in_place(void)
{
        const char *old = HEAD "\"links\":[" TO_B "," FROM_C "]}";

        plan(old, HEAD "\"links\":[" TO_B ",{\"name\":\"from-c\",\"peers\":[\"busd-c\"],\"export\":{\"topics\":"
                       "[\"alerts.fire\"]}}]}");
        CHECK(P.act[0] == BRIDGEDIFF_KEEP);
        CHECK(P.act[1] == BRIDGEDIFF_REFILTER);
        plan(old, HEAD "\"links\":[" TO_B ",{\"name\":\"from-c\",\"peers\":[\"busd-c\"],\"export\":{\"topics\":"
                       "[\"alerts.>\"],\"prefix\":\"site-c.\"}}]}");
        CHECK(P.act[1] == BRIDGEDIFF_REFILTER);
        plan(old, HEAD "\"links\":[" TO_B ",{\"name\":\"from-c\",\"peers\":[\"busd-c\"],\"export\":{\"topics\":"
                       "[\"alerts.>\"]},\"import\":{\"topics\":[\"x.>\"]}}]}");
        CHECK(P.act[1] == BRIDGEDIFF_REFILTER);
}

static void test_bridge_wide_changes(void)
{
        const char *links = "\"links\":[" TO_B "," FROM_C "]";
        char old[2048], new[2048];

        snprintf(old, sizeof(old), HEAD "%s}", links);
        /* other credentials: every link restarts, with the reason */
        snprintf(new, sizeof(new),
                 "{\"cert\":\"/c2.pem\",\"key\":\"/k.pem\",\"ca\":\"/ca.pem\",\"listen\":[\"10.0.0.1:7400\"],%s}",
                 links);
        plan(old, new);
        CHECK(P.restart_all && P.act[0] == BRIDGEDIFF_RESTART && P.act[1] == BRIDGEDIFF_RESTART);
        CHECK_STREQ(P.why[0], P.restart_all);
        /* the same paths, but the carrier found other file contents */
        parse(&OLD, old);
        parse(&NEW, old);
        bridgediff_plan(&OLD, &NEW, false, &P);
        CHECK(P.restart_all && P.act[0] == BRIDGEDIFF_RESTART);
        snprintf(new, sizeof(new), HEAD "%s,\"max_hops\":3}", links);
        plan(old, new);
        CHECK(P.restart_all && P.act[1] == BRIDGEDIFF_RESTART);
        CHECK_CONTAINS(P.restart_all, "max_hops");
        /* tuning values and listen addresses: in place, links kept */
        snprintf(new, sizeof(new), HEAD "%s,\"queue_bytes\":1048576,\"keepalive_ms\":500}", links);
        plan(old, new);
        CHECK(!P.restart_all && P.tuning && P.act[0] == BRIDGEDIFF_KEEP && P.act[1] == BRIDGEDIFF_KEEP);
        snprintf(new, sizeof(new),
                 "{\"cert\":\"/c.pem\",\"key\":\"/k.pem\",\"ca\":\"/ca.pem\",\"listen\":[\"10.0.0.1:7401\"],%s}",
                 links);
        plan(old, new);
        CHECK(P.listen && !P.restart_all && P.act[0] == BRIDGEDIFF_KEEP);
}

int main(void)
{
        test_same_file_keeps_everything();
        test_added_and_removed();
        test_what_restarts_a_link();
        test_filters_are_swapped_in_place();
        test_bridge_wide_changes();
        bridgecfg_free(&OLD);
        bridgecfg_free(&NEW);
        return 0;
}
