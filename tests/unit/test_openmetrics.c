/* test_openmetrics.c: proto/openmetrics.c, an org.busd stats answer as
 * OpenMetrics text: the daemon's counters, the per-uid accounts, the bridge's
 * links (entries of one link added up), label escaping, members missing or
 * of the wrong type left out, the 0.0.4 text format and Accept negotiation.
 * With OPENMETRICS_DUMP=FILE set it writes the rendered sample there (the
 * integration test feeds it to promtool). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openmetrics.h"
#include "test.h"

static const char *stats_text =
        "{\"uptime_ms\": 12345, \"connections\": 3, \"connections_total\": 7, \"messages_in\": 100,"
        " \"messages_out\": 90, \"bytes_in\": 4096, \"bytes_out\": 2048, \"calls\": 10, \"replies\": 9,"
        " \"events\": 5, \"deliveries\": 15, \"drops\": 1, \"errors\": 2, \"pending_calls\": 1,"
        " \"subscriptions\": 4, \"names\": 2, \"held_calls\": 0, \"denials\": 0, \"quota_refusals\": 0,"
        " \"queued_fds\": 0, \"queued_fds_limit\": 4096, \"fds_refused\": 0,"
        " \"uids\": [{\"uid\": 0, \"connections\": 1, \"queue_bytes\": 10, \"refused\": 0,"
        "             \"quota\": {\"connections\": null, \"queue_bytes\": null}},"
        "            {\"uid\": 1000, \"connections\": 2, \"queue_bytes\": 0, \"refused\": 3,"
        "             \"quota\": {\"connections\": 64, \"queue_bytes\": null}}],"
        " \"bridge\": {\"bus\": \"a\", \"duplicates\": 6, \"refused_half_open\": 0, \"links\": ["
        "   {\"link\": \"to-b\", \"state\": \"up\", \"events_in\": 3, \"events_out\": 4, \"calls_in\": 0,"
        "    \"calls_out\": 1, \"dropped\": 0, \"acked\": 4, \"held\": 0, \"duplicates\": 0, \"filtered\": 0,"
        "    \"too_far\": 0, \"names\": 1, \"connections\": 1, \"lost\": 0, \"queue_bytes\": 0},"
        "   {\"link\": \"to-b\", \"state\": \"starting\", \"events_in\": 2, \"connections\": 1, \"lost\": 0},"
        "   {\"link\": \"we\\\"ird\\\\\\n\", \"state\": \"down\", \"connections\": 0, \"lost\": 5}]},"
        " \"peers_total\": 3, \"peers\": []}";

static char *render(const char *json, enum openmetrics_format f)
{
        struct json_object *o = json_tokener_parse(json);
        char *text = NULL;
        size_t len = 0;

        CHECK(o);
        CHECK_EQ_INT(openmetrics_render(o, f, &text, &len), 0);
        CHECK(text);
        CHECK_EQ_INT(strlen(text), len);
        json_object_put(o);
        return text;
}

static void test_daemon(void)
{
        char *t = render(stats_text, OPENMETRICS_TEXT);

        CHECK_CONTAINS(t, "# TYPE busd_uptime_seconds gauge\n# UNIT busd_uptime_seconds seconds\n"
                          "# HELP busd_uptime_seconds ");
        CHECK_CONTAINS(t, "\nbusd_uptime_seconds 12.345\n");
        CHECK_CONTAINS(t, "# TYPE busd_connections gauge\n");
        CHECK_CONTAINS(t, "\nbusd_connections 3\n");
        CHECK_CONTAINS(t, "# TYPE busd_connections_accepted counter\n");
        CHECK_CONTAINS(t, "\nbusd_connections_accepted_total 7\n");
        CHECK_CONTAINS(t, "# UNIT busd_received_bytes bytes\n");
        CHECK_CONTAINS(t, "\nbusd_received_bytes_total 4096\n");
        CHECK_CONTAINS(t, "\nbusd_calls_total 10\n");
        CHECK_CONTAINS(t, "\nbusd_queued_fds_limit 4096\n");
        /* the per-connection list is not rendered (unbounded label values) */
        CHECK(!strstr(t, "peers"));
        /* ends with # EOF, once */
        size_t len = strlen(t);
        CHECK(len > 6 && !strcmp(t + len - 6, "# EOF\n"));
        CHECK(strstr(t, "# EOF") == t + len - 6);
        free(t);
}

static void test_uids(void)
{
        char *t = render(stats_text, OPENMETRICS_TEXT);

        CHECK_CONTAINS(t, "\nbusd_uid_used{uid=\"0\",resource=\"connections\"} 1\n");
        CHECK_CONTAINS(t, "\nbusd_uid_used{uid=\"1000\",resource=\"queue_bytes\"} 0\n");
        /* a null quota is unlimited: no sample */
        CHECK_CONTAINS(t, "\nbusd_uid_limit{uid=\"1000\",resource=\"connections\"} 64\n");
        CHECK(!strstr(t, "busd_uid_limit{uid=\"0\""));
        CHECK(!strstr(t, "resource=\"queue_bytes\"} 64"));
        CHECK(!strstr(t, "resource=\"refused\""));
        CHECK(!strstr(t, "resource=\"uid\""));
        CHECK_CONTAINS(t, "\nbusd_uid_refused_total{uid=\"1000\"} 3\n");
        /* one header per family, before all its samples */
        const char *h = strstr(t, "# TYPE busd_uid_used gauge\n");
        CHECK(h && !strstr(h + 1, "# TYPE busd_uid_used "));
        CHECK(h < strstr(t, "busd_uid_used{"));
        free(t);
}

static void test_links(void)
{
        char *t = render(stats_text, OPENMETRICS_TEXT);

        CHECK_CONTAINS(t, "\nbusd_bridge_duplicates_total 6\n");
        /* the two entries of to-b are one link: up, figures added */
        CHECK_CONTAINS(t, "\nbusd_link_up{link=\"to-b\"} 1\n");
        CHECK_CONTAINS(t, "\nbusd_link_events_received_total{link=\"to-b\"} 5\n");
        CHECK_CONTAINS(t, "\nbusd_link_connections_total{link=\"to-b\"} 2\n");
        CHECK(!strstr(t, "busd_link_events_received_total{link=\"to-b\"} 3"));
        /* escaped label value; a down link has only what its entry says */
        CHECK_CONTAINS(t, "\nbusd_link_up{link=\"we\\\"ird\\\\\\n\"} 0\n");
        CHECK_CONTAINS(t, "\nbusd_link_lost_total{link=\"we\\\"ird\\\\\\n\"} 5\n");
        CHECK(!strstr(t, "busd_link_events_sent_total{link=\"we"));
        CHECK_CONTAINS(t, "# UNIT busd_link_queue_bytes bytes\n");
        free(t);
}

static void test_missing(void)
{
        /* another version's answer: unknown members ignored, wrong types and
         * missing members left out; no bridge, no uids */
        char *t = render("{\"calls\": 1, \"replies\": \"x\", \"events\": -1, \"new_counter\": 5, \"uids\": 3}",
                         OPENMETRICS_TEXT);

        CHECK_STREQ(t, "# TYPE busd_calls counter\n# HELP busd_calls Method calls routed.\nbusd_calls_total 1\n"
                       "# EOF\n");
        free(t);
        /* a uids member that is no quota kind's name is no resource label */
        t = render("{\"uids\": [{\"uid\": 5, \"Odd Key\": 1, \"a\\\"b\": 2, \"\": 3, \"names\": 4}]}",
                   OPENMETRICS_TEXT);
        CHECK_CONTAINS(t, "\nbusd_uid_used{uid=\"5\",resource=\"names\"} 4\n");
        CHECK(!strstr(t, "Odd") && !strstr(t, "a\\\"b") && !strstr(t, "resource=\"\""));
        free(t);
        t = render("{}", OPENMETRICS_TEXT);
        CHECK_STREQ(t, "# EOF\n");
        free(t);

        struct json_object *arr = json_object_new_array();
        char *text = (char *)"keep";
        size_t len = 7;
        CHECK_EQ_INT(openmetrics_render(arr, OPENMETRICS_TEXT, &text, &len), -EINVAL);
        CHECK_EQ_INT(openmetrics_render(NULL, OPENMETRICS_TEXT, &text, &len), -EINVAL);
        CHECK_STREQ(text, "keep");
        CHECK_EQ_INT(len, 7);
        json_object_put(arr);
}

static void test_prometheus(void)
{
        char *t = render(stats_text, OPENMETRICS_PROMETHEUS);

        CHECK_CONTAINS(t, "# TYPE busd_calls_total counter\n# HELP busd_calls_total ");
        CHECK_CONTAINS(t, "\nbusd_calls_total 10\n");
        CHECK_CONTAINS(t, "# TYPE busd_connections gauge\n");
        CHECK(!strstr(t, "# UNIT"));
        CHECK(!strstr(t, "# EOF"));
        free(t);
}

static void test_negotiate(void)
{
        CHECK_EQ_INT(openmetrics_negotiate(NULL), OPENMETRICS_TEXT);
        CHECK_EQ_INT(openmetrics_negotiate(""), OPENMETRICS_TEXT);
        CHECK_EQ_INT(openmetrics_negotiate("*/*"), OPENMETRICS_TEXT);
        /* what Prometheus 2.x sends */
        CHECK_EQ_INT(openmetrics_negotiate("application/openmetrics-text;version=1.0.0,application/"
                                           "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/"
                                           "*;q=0.1"),
                     OPENMETRICS_TEXT);
        CHECK_EQ_INT(openmetrics_negotiate("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), OPENMETRICS_PROMETHEUS);
        CHECK_EQ_INT(openmetrics_negotiate("Text/Plain"), OPENMETRICS_PROMETHEUS);
        CHECK_EQ_INT(openmetrics_negotiate("text/plain; q=0, */*"), OPENMETRICS_TEXT);
        CHECK_EQ_INT(openmetrics_negotiate("text/plain, application/openmetrics-text; q=0"), OPENMETRICS_PROMETHEUS);
        CHECK_EQ_INT(openmetrics_negotiate("text/plainx"), OPENMETRICS_TEXT);
        CHECK_STREQ(openmetrics_content_type(OPENMETRICS_TEXT),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8");
        CHECK_STREQ(openmetrics_content_type(OPENMETRICS_PROMETHEUS), "text/plain; version=0.0.4; charset=utf-8");
}

int main(void)
{
        test_daemon();
        test_uids();
        test_links();
        test_missing();
        test_prometheus();
        test_negotiate();

        const char *dump = getenv("OPENMETRICS_DUMP");
        if (dump) {
                char *t = render(stats_text, OPENMETRICS_TEXT);
                FILE *f = fopen(dump, "w");
                CHECK(f);
                fputs(t, f);
                CHECK(fclose(f) == 0);
                free(t);
        }
        printf("test_openmetrics: ok\n");
        return 0;
}
