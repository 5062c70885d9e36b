/* bridgefilter.c: see bridgefilter.h. */
#include "bridgefilter.h"

#include <stdio.h>
#include <string.h>

#include "syntax.h"

static bool name_form_matches(const char *form, const char *name)
{
        size_t n = strlen(form);

        if (strcmp(form, "*") == 0)
                return true;
        if (n >= 2 && form[n - 1] == '*' && form[n - 2] == '.')
                return strncmp(form, name, n - 1) == 0 && name[n - 1] != '\0';
        return strcmp(form, name) == 0;
}

bool bridge_filter_topic(const struct bridge_filter *f, const char *topic)
{
        if (!f || topic[0] == '$')
                return false; /* a bus's own $bus events stay on it */
        for (size_t i = 0; i < f->ntopics; i++)
                if (syntax_pattern_matches(f->topics[i], topic))
                        return true;
        return false;
}

bool bridge_map_topic(const struct bridge_filter *f, const char *topic, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s%s", f && f->prefix ? f->prefix : "", topic);

        return n > 0 && (size_t)n < len && syntax_is_topic(buf, (size_t)n);
}

bool bridge_filter_name(const struct bridge_filter *f, const char *name)
{
        if (!f)
                return false;
        for (size_t i = 0; i < f->nnames; i++)
                if (name_form_matches(f->names[i], name))
                        return true;
        return false;
}
