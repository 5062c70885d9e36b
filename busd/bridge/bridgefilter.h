/* bridgefilter.h: what crosses a bridge link in one direction (docs/bridge.md
 * "The configuration file": export and import): topic patterns, name forms
 * and an optional topic prefix. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct bridge_filter {
        char **topics; /* topic patterns (subscription syntax); none: no event crosses */
        size_t ntopics;
        char **names; /* name forms: "org.example.Svc", "org.example.*", "*"; none: no name */
        size_t nnames;
        /* topics crossing in this direction get this prefix ("site-a."), after
         * the filter matched them as they were; NULL: none */
        char *prefix;
};

/* The topic as it crosses in f's direction (f's prefix + topic) into buf;
 * false if that is not a valid topic (too long, too many segments). */
bool bridge_map_topic(const struct bridge_filter *f, const char *topic, char *buf, size_t len);
/* Does the filter let this topic / name through? ($ topics never cross.) */
bool bridge_filter_topic(const struct bridge_filter *f, const char *topic);
bool bridge_filter_name(const struct bridge_filter *f, const char *name);
