/* Pure protocol pieces: line framing, control-socket messages, QMP lines, accelerator choice. */
#include <stdlib.h>

#include "ctl.h"
#include "detect.h"
#include "linebuf.h"
#include "qmp.h"
#include "t.h"
#include "util.h"

static void
test_linebuf(void)
{
	struct linebuf lb;
	char *l;
	size_t n;

	linebuf_init(&lb, 8);
	linebuf_feed(&lb, "ab\ncd", 5);
	l = linebuf_next(&lb, &n);
	T_STREQ(l, "ab");
	T_INTEQ(n, 2);
	free(l);
	T_CHECK(linebuf_next(&lb, NULL) == NULL);
	linebuf_feed(&lb, "e\r\n", 3);
	l = linebuf_next(&lb, NULL);
	T_STREQ(l, "cde");
	free(l);
	/* an over-long line is dropped whole; the next one survives */
	linebuf_feed(&lb, "0123456789", 10);
	linebuf_feed(&lb, "abc\nok\n", 7);
	l = linebuf_next(&lb, NULL);
	T_STREQ(l, "ok");
	free(l);
	T_INTEQ(lb.overflows, 1);
	/* NUL bytes are data: the line keeps its length */
	linebuf_feed(&lb, "a\0b\n", 4);
	l = linebuf_next(&lb, &n);
	T_INTEQ(n, 3);
	T_CHECK(l != NULL && l[0] == 'a' && l[1] == '\0' && l[2] == 'b');
	free(l);
	linebuf_free(&lb);
}

static void
test_ctl(void)
{
	json_object *o;
	char *cause = NULL;
	const char *s;

	s = "{\"v\":1,\"id\":3,\"cmd\":\"status\"}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_REQUEST);
	json_object_put(o);
	s = "{\"v\":1,\"id\":3,\"ok\":false,\"error\":\"x\",\"status\":4}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_REPLY);
	json_object_put(o);
	s = "{\"v\":1,\"hello\":{\"label\":\"a\"}}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_HELLO);
	json_object_put(o);
	s = "{\"v\":1,\"event\":\"STOP\",\"ts\":1.5}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_EVENT);
	json_object_put(o);
	s = "{\"v\":2,\"id\":3,\"cmd\":\"status\"}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_BAD);
	T_STREQ(cause, "unsupported protocol version (want \"v\":1)");
	s = "{\"v\":1,\"cmd\":\"status\"}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_BAD);
	T_STREQ(cause, "request without an integer \"id\"");
	s = "{\"v\":1,\"id\":1,\"cmd\":\"x\"} trailing";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_BAD);
	s = "[1,2]";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_BAD);
	T_STREQ(cause, "message is not a JSON object");
	s = "{\"v\":1}";
	T_INTEQ(ctl_msg_parse(s, strlen(s), &o, &cause), CTL_BAD);
	free(cause);
}

static void
test_qmp(void)
{
	json_object *o;
	char *cause = NULL, *e;
	const char *s;

	s = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}}, "
	    "\"capabilities\": [\"oob\"]}}";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_GREETING);
	json_object_put(o);
	s = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
	    "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_EVENT);
	json_object_put(o);
	s = "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 7}";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_RETURN);
	T_INTEQ(qmp_id(o), 7);
	json_object_put(o);
	s = "{\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command foo "
	    "has not been found\"}}";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_ERROR);
	e = qmp_error_text(o);
	T_STREQ(e, "The command foo has not been found");
	free(e);
	json_object_put(o);
	s = "{\"something\": 1}";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_BAD);
	s = "not json";
	T_INTEQ(qmp_parse(s, strlen(s), &o, &cause), QMP_BAD);
	e = qmp_command_line("query-status", NULL, 5);
	T_STREQ(e, "{\"execute\":\"query-status\",\"id\":5}\n");
	free(e);
	free(cause);
}

static void
test_accel(void)
{
	struct host_facts f = { .host_arch = "x86_64", .kvm_dev = 1, .kvm_intel = 1 };
	char *why;

	T_STREQ(detect_accel(&f, "x86_64", NULL, &why), "kvm");
	T_CHECK(why == NULL);
	T_STREQ(detect_accel(&f, "i686", "KVM", &why), "kvm");
	T_STREQ(detect_accel(&f, "x86_64", "QEMU", &why), "tcg");
	T_STREQ(why, "the definition asks for TCG (ACCELERATOR=QEMU)");
	free(why);
	T_STREQ(detect_accel(&f, "aarch64", NULL, &why), "tcg");
	T_STREQ(why, "guest architecture aarch64 differs from host x86_64");
	free(why);
	/* this machine kind: /dev/kvm from kvm_pvm, no vmx/svm module */
	struct host_facts pvm = { .host_arch = "x86_64", .kvm_dev = 1, .other_kvm = "kvm_pvm" };
	T_STREQ(detect_accel(&pvm, NULL, NULL, &why), "tcg");
	T_STREQ(why, "/dev/kvm is provided by kvm_pvm, not kvm_intel or kvm_amd: it cannot run "
	    "a stock guest");
	free(why);
	struct host_facts none = { .host_arch = "x86_64" };
	T_STREQ(detect_accel(&none, NULL, NULL, &why), "tcg");
	T_STREQ(why, "/dev/kvm does not exist");
	free(why);
	struct host_facts perm = { .host_arch = "x86_64", .kvm_dev = 1, .kvm_open_errno = 13,
	    .kvm_amd = 1 };
	T_STREQ(detect_accel(&perm, NULL, NULL, &why), "tcg");
	T_STREQ(why, "cannot open /dev/kvm read-write: Permission denied");
	free(why);
	struct host_facts arm = { .host_arch = "aarch64", .kvm_dev = 1 };
	T_STREQ(detect_accel(&arm, "arm64", NULL, &why), "kvm");
	T_STREQ(detect_qemu_arch("amd64"), "x86_64");
}

int
main(void)
{
	test_linebuf();
	test_ctl();
	test_qmp();
	test_accel();
	return t_done();
}
