/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: image references as typed by users or found in files. */
#include <beampush/reference.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	bp_reference *r = NULL;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bp_reference_parse(&r, s) == 0) {
		/* Touch every accessor so a bad borrowed pointer shows up. */
		(void)strlen(bp_reference_domain(r));
		(void)strlen(bp_reference_path(r));
		(void)strlen(bp_reference_name(r));
		(void)strlen(bp_reference_object(r));
		(void)strlen(bp_reference_string(r));
		if (bp_reference_tag(r))
			(void)strlen(bp_reference_tag(r));
		if (bp_reference_digest(r))
			(void)strlen(bp_reference_digest(r));
	}
	bp_reference_free(r);
	r = NULL;
	if (bp_reference_parse_repository(&r, s) == 0)
		(void)strlen(bp_reference_string(r));
	bp_reference_free(r);
	free(s);
	return 0;
}
