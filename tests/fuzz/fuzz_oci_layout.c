/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: an OCI image layout's index.json and oci-layout
 * files, as opening, resolving tags and tagging (a read-modify-write of
 * index.json) read them. The first byte picks the file the input becomes
 * (the other one is valid) and whether to tag; the layout lives in a
 * private directory holding one manifest blob.
 */
#include <beampush/digest.h>
#include <beampush/store_oci.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
	"\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
	"\"size\":0},\"layers\":[]}";
static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
static char dir[64], index_path[96], layout_path[96];
static bp_descriptor desc;

static int put(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, size);
	close(fd);
	return n == (ssize_t)size ? 0 : -1;
}

static void cleanup(void)
{
	char *blob = NULL;
	bp_oci *o = NULL;

	if (bp_oci_open(&o, dir, 0) == 0)
		blob = bp_oci_blob_path(o, desc.digest);
	bp_oci_free(o);
	if (blob)
		unlink(blob);
	free(blob);
	unlink(index_path);
	unlink(layout_path);
	snprintf(index_path, sizeof(index_path), "%s/blobs/sha256", dir);
	rmdir(index_path);
	snprintf(index_path, sizeof(index_path), "%s/blobs", dir);
	rmdir(index_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	bp_oci *o = NULL;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/bp-fuzz-oci-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(index_path, sizeof(index_path), "%s/index.json", dir);
	snprintf(layout_path, sizeof(layout_path), "%s/oci-layout", dir);
	desc.media_type = "application/vnd.oci.image.manifest.v1+json";
	desc.size = (int64_t)sizeof(manifest) - 1;
	if (bp_digest_buf(desc.digest, manifest, sizeof(manifest) - 1) != 0 ||
	    bp_oci_open(&o, dir, 1) != 0 ||
	    bp_oci_blob_put(o, desc.digest, manifest, sizeof(manifest) - 1) != 0)
		abort();
	bp_oci_free(o);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { NULL, "latest", "v1", "1.0" };
	const bp_descriptor *d;
	bp_oci *o = NULL;
	unsigned sel;
	size_t i;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	sel = data[0];
	if (put((sel & 1) ? layout_path : index_path, data + 1, size - 1) < 0 ||
	    put((sel & 1) ? index_path : layout_path, (sel & 1) ? "{\"schemaVersion\":2}" : layout,
		(sel & 1) ? 19 : sizeof(layout) - 1) < 0)
		return 0;
	if (bp_oci_open(&o, dir, 0) != 0)
		return 0;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		/* an entry without a mediaType resolves with media_type NULL */
		if (bp_oci_resolve(o, tags[i], &d) == 0) {
			(void)strlen(d->media_type ? d->media_type : "");
			(void)strlen(d->digest);
		}
	}
	if (sel & 2) {
		if (bp_oci_tag(o, &desc, (sel & 4) ? "latest" : NULL) == 0)
			(void)bp_oci_resolve(o, (sel & 4) ? "latest" : NULL, &d);
	}
	bp_oci_free(o);
	return 0;
}
