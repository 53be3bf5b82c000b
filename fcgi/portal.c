#include "fcgi.h"
void portal_handle(struct req *q, struct resp *r)
{
	(void)q;
	resp_problem_msg(r, 404, NULL, "no portal yet");
}
