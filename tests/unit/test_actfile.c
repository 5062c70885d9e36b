/* test_actfile.c: the activation file parser (busd/config/actfile.c). */
#include <errno.h>
#include <string.h>

#include "actfile.h"
#include "test.h"

static char err[400];

static int parse(const char *text, const char *expected, struct actfile *a)
{
        err[0] = 0;
        return actfile_parse(text, strlen(text), expected, a, err, sizeof(err));
}

static void bad(const char *text, const char *expected, const char *why)
{
        struct actfile a;
        if (parse(text, expected, &a) != -EINVAL) {
                fprintf(stderr, "accepted: %s\n", text);
                exit(1);
        }
        CHECK_CONTAINS(err, why);
}

int main(void)
{
        struct actfile a;

        CHECK_EQ_INT(parse("{\"name\":\"org.example.Clock\",\"exec\":[\"/usr/bin/clock\",\"-q\"]}", "org.example.Clock",
                           &a),
                     0);
        CHECK_STREQ(a.name, "org.example.Clock");
        CHECK_STREQ(a.argv[0], "/usr/bin/clock");
        CHECK_STREQ(a.argv[1], "-q");
        CHECK(a.argv[2] == NULL && a.unit == NULL);
        CHECK_EQ_INT(a.timeout_ms, ACTFILE_DEFAULT_TIMEOUT_MS);
        actfile_deinit(&a);

        CHECK_EQ_INT(parse("{\"name\":\"org.example.Clock\",\"systemd_unit\":\"clock@1.service\",\"timeout_ms\":500}",
                           NULL, &a),
                     0);
        CHECK_STREQ(a.unit, "clock@1.service");
        CHECK(a.argv == NULL);
        CHECK_EQ_INT(a.timeout_ms, 500);
        actfile_deinit(&a);

        bad("{\"name\":\"org.example.Clock\",\"exec\":[\"/x\"]}", "org.example.Other", "file name says");
        bad("{\"exec\":[\"/x\"]}", NULL, "missing member 'name'");
        bad("{\"name\":\"org.busd.Evil\",\"exec\":[\"/x\"]}", NULL, "reserved");
        bad("{\"name\":\"nodots\",\"exec\":[\"/x\"]}", NULL, "well-known name");
        bad("{\"name\":\"a.b\"}", NULL, "exactly one of exec and systemd_unit");
        bad("{\"name\":\"a.b\",\"exec\":[\"/x\"],\"systemd_unit\":\"x.service\"}", NULL, "exactly one");
        bad("{\"name\":\"a.b\",\"exec\":[]}", NULL, "exec must be an array");
        bad("{\"name\":\"a.b\",\"exec\":[\"relative\"]}", NULL, "absolute path");
        bad("{\"name\":\"a.b\",\"exec\":[\"/x\",3]}", NULL, "exec[1]");
        bad("{\"name\":\"a.b\",\"systemd_unit\":\"--now\"}", NULL, "unit name");
        bad("{\"name\":\"a.b\",\"systemd_unit\":\"a b.service\"}", NULL, "unit name");
        bad("{\"name\":\"a.b\",\"exec\":[\"/x\"],\"timeout_ms\":0}", NULL, "timeout_ms");
        bad("{\"name\":\"a.b\",\"exec\":[\"/x\"],\"user\":\"root\"}", NULL, "unknown member 'user'");
        bad("{\"name\":\"a.b\",\"exec\":[\"/x\"],\"name\":\"c.d\"}", NULL, "same member name twice");
        bad("[1]", NULL, "JSON object");
        bad("{\"name\":", NULL, "invalid JSON");
        return 0;
}
