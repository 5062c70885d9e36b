/* report.c: the results, as a table for people or JSON for scripts. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct row *report_add(struct report *rep, const char *scenario, enum transport t)
{
        if (rep->n == REPORT_MAX)
                return NULL;
        struct row *r = &rep->rows[rep->n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->scenario, sizeof(r->scenario), "%s", scenario);
        r->transport = t;
        r->unit = "";
        r->p50_us = r->p99_us = r->daemon_us = r->floor_ratio = r->publish_rate = r->daemon_us_publish = NAN;
        r->dropped = -1;
        r->runs = 1;
        return r;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* Median of the non-NAN values, or NAN. Sorts v. */
static double median(double *v, size_t n)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (!isnan(v[i]))
                        v[k++] = v[i];
        if (!k)
                return NAN;
        qsort(v, k, sizeof(*v), cmp_double);
        return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

void report_merge(struct report *out, const struct report *rounds, size_t n)
{
        double v[7][64];

        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < rounds[0].n; i++) {
                const struct row *first = &rounds[0].rows[i];
                struct row *m = &out->rows[out->n++];
                size_t k = 0;
                *m = *first;
                m->vmin = m->vmax = first->value;
                for (size_t r = 0; r < n && k < 64; r++) {
                        for (size_t j = 0; j < rounds[r].n; j++) {
                                const struct row *x = &rounds[r].rows[j];
                                if (strcmp(x->scenario, first->scenario) != 0 || x->transport != first->transport)
                                        continue;
                                v[0][k] = x->value;
                                v[1][k] = x->p50_us;
                                v[2][k] = x->p99_us;
                                v[3][k] = x->daemon_us;
                                v[4][k] = x->dropped < 0 ? NAN : (double)x->dropped;
                                v[5][k] = x->publish_rate;
                                v[6][k] = x->daemon_us_publish;
                                k++;
                                m->failed |= x->failed;
                                if (x->failed && !first->failed)
                                        snprintf(m->note, sizeof(m->note), "%s", x->note);
                                if (x->value < m->vmin)
                                        m->vmin = x->value;
                                if (x->value > m->vmax)
                                        m->vmax = x->value;
                        }
                }
                m->runs = (unsigned)k;
                m->value = median(v[0], k);
                m->p50_us = median(v[1], k);
                m->p99_us = median(v[2], k);
                m->daemon_us = median(v[3], k);
                m->publish_rate = median(v[5], k);
                m->daemon_us_publish = median(v[6], k);
                double d = median(v[4], k);
                m->dropped = isnan(d) ? -1 : (int64_t)d;
        }
}

void report_floor_ratios(struct report *rep)
{
        for (size_t i = 0; i < rep->n; i++) {
                struct row *call = &rep->rows[i];
                if (strcmp(call->scenario, "call") != 0)
                        continue;
                for (size_t j = 0; j < rep->n; j++) {
                        const struct row *relay = &rep->rows[j];
                        if (strcmp(relay->scenario, "relay-rtt") == 0 && relay->transport == call->transport &&
                            !relay->failed && relay->value > 0) {
                                call->floor_ratio = call->value / relay->value;
                                call->floor_name = "relay-rtt";
                        }
                }
        }
}

static void cell(char *buf, size_t len, double v, int decimals)
{
        if (isnan(v))
                snprintf(buf, len, "-");
        else
                snprintf(buf, len, "%.*f", decimals, v);
}

void report_print_table(const struct report *rep, const char *machine)
{
        printf("%s\n", machine);
        if (rep->n && rep->rows[rep->n - 1].runs > 1)
                printf("each column: the median of %u runs; the note ends with the range of the result\n",
                       rep->rows[rep->n - 1].runs);
        printf("\n");
        printf("%-14s %-9s %9s %24s %8s %8s %9s %9s %18s  %s\n", "scenario", "transport", "count", "result", "p50 us",
               "p99 us", "dropped", "busd us", "vs floor", "note");
        for (size_t i = 0; i < rep->n; i++) {
                const struct row *r = &rep->rows[i];
                char result[40], p50[16], p99[16], dropped[24], dus[16], ratio[40];
                if (r->failed && r->value == 0)
                        snprintf(result, sizeof(result), "FAILED");
                else
                        snprintf(result, sizeof(result), "%.0f %s", r->value, r->unit);
                cell(p50, sizeof(p50), r->p50_us, 1);
                cell(p99, sizeof(p99), r->p99_us, 1);
                cell(dus, sizeof(dus), r->daemon_us, 2);
                if (r->dropped < 0)
                        snprintf(dropped, sizeof(dropped), "-");
                else
                        snprintf(dropped, sizeof(dropped), "%lld", (long long)r->dropped);
                if (isnan(r->floor_ratio))
                        snprintf(ratio, sizeof(ratio), "-");
                else
                        snprintf(ratio, sizeof(ratio), "%.0f%% %s", r->floor_ratio * 100, r->floor_name);
                char range[160] = "";
                size_t rl = 0;
                if (!isnan(r->publish_rate))
                        rl += (size_t)snprintf(range + rl, sizeof(range) - rl,
                                               "%spublished %.0f/s; busd %.2f us/publish", r->note[0] ? "; " : "",
                                               r->publish_rate, r->daemon_us_publish);
                if (r->runs > 1 && rl < sizeof(range))
                        snprintf(range + rl, sizeof(range) - rl, "%srange %.0f..%.0f", r->note[0] || rl ? "; " : "",
                                 r->vmin, r->vmax);
                printf("%-14s %-9s %9llu %24s %8s %8s %9s %9s %18s  %s%s%s\n", r->scenario,
                       transport_name(r->transport), (unsigned long long)r->count, result, p50, p99, dropped, dus,
                       ratio, r->failed ? "FAILED: " : "", r->note, range);
        }
        printf("\nbusd us: the daemon's CPU time per routed message (calls + replies, or event deliveries);\n"
               "for relay rows, the relay process's CPU time per forwarded message.\n");
}

static struct json_object *num_or_null(double v)
{
        return isnan(v) || isinf(v) ? NULL : json_object_new_double(v);
}

void report_print_json(const struct report *rep, const struct bench_opts *o, const char *machine)
{
        struct json_object *root = json_object_new_object(), *rows = json_object_new_array();

        json_object_object_add(root, "machine", json_object_new_string(machine));
        json_object_object_add(root, "payload", json_object_new_uint64(o->payload));
        json_object_object_add(root, "quick", json_object_new_boolean(o->quick));
        json_object_object_add(root, "repeat", json_object_new_int((int)o->repeat));
        if (o->remote_address) {
                /* across a bridge: subscribers and services on remote_address */
                json_object_object_add(root, "address", json_object_new_string(o->address));
                json_object_object_add(root, "remote_address", json_object_new_string(o->remote_address));
        }
        for (size_t i = 0; i < rep->n; i++) {
                const struct row *r = &rep->rows[i];
                struct json_object *j = json_object_new_object();
                json_object_object_add(j, "scenario", json_object_new_string(r->scenario));
                json_object_object_add(j, "transport", json_object_new_string(transport_name(r->transport)));
                json_object_object_add(j, "ok", json_object_new_boolean(!r->failed));
                json_object_object_add(j, "count", json_object_new_uint64(r->count));
                json_object_object_add(j, "value", num_or_null(r->value));
                json_object_object_add(j, "runs", json_object_new_int((int)r->runs));
                json_object_object_add(j, "value_min", num_or_null(r->vmin));
                json_object_object_add(j, "value_max", num_or_null(r->vmax));
                json_object_object_add(j, "unit", json_object_new_string(r->unit));
                json_object_object_add(j, "p50_us", num_or_null(r->p50_us));
                json_object_object_add(j, "p99_us", num_or_null(r->p99_us));
                json_object_object_add(j, "dropped", r->dropped < 0 ? NULL : json_object_new_int64(r->dropped));
                json_object_object_add(j, "daemon_us_per_msg", num_or_null(r->daemon_us));
                json_object_object_add(j, "floor", r->floor_name ? json_object_new_string(r->floor_name) : NULL);
                json_object_object_add(j, "floor_ratio", num_or_null(r->floor_ratio));
                json_object_object_add(j, "publish_rate", num_or_null(r->publish_rate));
                json_object_object_add(j, "daemon_us_per_publish", num_or_null(r->daemon_us_publish));
                json_object_object_add(j, "note", json_object_new_string(r->note));
                json_object_array_add(rows, j);
        }
        json_object_object_add(root, "results", rows);
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
}
