/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/fileutil.h"

#include <beampush/reference.h>
#include <beampush/sign.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Write the digest to file (the whole file, then a newline). A regular
 * file (or a new one) is replaced through a temporary file and a rename:
 * a reader never sees half a digest. A new file gets mode 0644 less the
 * umask (no umask makes it writable by others), an existing one keeps its
 * mode. A symbolic link is followed; what is not a regular file
 * (/dev/stdout, a pipe) is written in place.
 */
int cli_write_digestfile(const char *file, const char *digest)
{
	char line[BP_DIGEST_MAX + 1], *target = realpath(file, NULL);
	struct stat st;
	int rc = 0, fd, e;

	snprintf(line, sizeof(line), "%s\n", digest);
	if (!target || stat(target, &st) < 0)
		st.st_mode = S_IFREG | bp_file_mode();
	if (!S_ISREG(st.st_mode)) {
		fd = open(target, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 || bp_write_all(fd, line, strlen(line)) < 0)
			rc = -1;
		if (fd >= 0 && close(fd) < 0)
			rc = -1;
	} else {
		rc = bp_write_file_atomic(target ? target : file, line, strlen(line),
					  st.st_mode & 07777);
	}
	e = errno;
	free(target);
	if (rc < 0) {
		cli_error("cannot write the digest to %s: %s", file, strerror(e));
		return EXIT_FAIL;
	}
	return 0;
}

/* beampush push [--from SOURCE] [--sign-key KEY] REF */
int cmd_push(global_opts *g, int argc, char **argv)
{
	const char *from = NULL, *digestfile = g->digestfile, *sign_key = NULL;
	int64_t chunk = 0, single = 0;
	int level = 0;
	const cli_option opts[] = {
		{ "--from", NULL, OPT_STRING, &from, "SOURCE",
		  "image to push: oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:REF] "
		  "or docker-daemon:NAME (default docker-daemon:REF)" },
		{ "--digestfile", NULL, OPT_STRING, &digestfile, "FILE",
		  "write the pushed manifest digest to FILE" },
		{ "--chunk-size", NULL, OPT_SIZE, &chunk, "BYTES",
		  "upload larger blobs in PATCH chunks of this size (default 16M)" },
		{ "--single-put-max", NULL, OPT_SIZE, &single, "BYTES",
		  "blobs up to this size go in one PUT (default 1M)" },
		{ "--compression-level", NULL, OPT_INT, &level, "N",
		  "gzip level for uncompressed layers, 1 (fastest, default) to 12 (smallest)" },
		{ "--sign-key", NULL, OPT_STRING, &sign_key, "KEY",
		  "then sign the pushed digest, as cosign sign --key KEY does (passphrase: "
		  "COSIGN_PASSWORD, or asked)" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_sign_result signed_as;
	bp_sign_key *key = NULL;
	bp_client *c = NULL;
	bp_reference *ref = NULL, *net = NULL;
	char digest[BP_DIGEST_MAX], *pinned = NULL, *src = NULL;
	int i, err, rc;

	i = cli_parse("push", "REF", "Push an image to a registry.", opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("push: expected one REF, got %d (see beampush push --help)", argc - i);
		return EXIT_USAGE;
	}
	if ((err = bp_reference_parse(&ref, argv[i]))) {
		cli_error("%s", bp_error_last());
		return EXIT_USAGE;
	}
	if (from && cli_check_transport("push", "--from", from) < 0) {
		rc = EXIT_USAGE;
		goto done;
	}
	/* the name the network sees, after the endpoint mapping */
	if ((rc = cli_reference(g, "push", argv[i], 0, &net)))
		goto done;
	if (!from) {
		src = malloc(strlen(argv[i]) + sizeof("docker-daemon:"));
		if (!src) {
			rc = EXIT_FAIL;
			goto done;
		}
		snprintf(src, strlen(argv[i]) + sizeof("docker-daemon:"), "docker-daemon:%s", argv[i]);
		from = src;
	}
	cli_client_options(g, &co);
	cli_progress_verb("Pushing");
	co.chunk_size = chunk;
	co.monolithic_max = single;
	if (level > 12) {
		cli_error("push: --compression-level wants 1 to 12, not %d", level);
		rc = EXIT_USAGE;
		goto done;
	}
	co.compression_level = level;
	/* a key that cannot be used stops the push before anything is sent */
	if (sign_key && (err = bp_sign_key_load(&key, sign_key, cli_passphrase, NULL))) {
		cli_error("push: %s", bp_error_last());
		rc = EXIT_USAGE;
		goto done;
	}
	if ((err = bp_client_new(&c, &co))) {
		rc = cli_fail(err);
		goto done;
	}
	if ((err = bp_push(c, from, net, digest))) {
		rc = cli_fail(err);
		goto done;
	}
	cli_progress_end();
	if (key && (err = bp_sign(c, net, digest, key, &signed_as))) {
		cli_error("push: pushed %s@%s, but not signed: %s", bp_reference_name(net), digest,
			  bp_error_last());
		rc = cli_exit_code(err);
		goto done;
	}
	/* pinned where the image really is: what a runner without the mapping can pull */
	pinned = bp_reference_pinned(net, digest);
	if (g->quiet) {
		printf("%s\n", digest);
	} else {
		printf("pushed %s\n", bp_reference_string(ref));
		if (strcmp(bp_reference_string(ref), bp_reference_string(net)) != 0)
			printf("location: %s\n", bp_reference_string(net));
		printf("digest: %s\npinned: %s\n", digest, pinned ? pinned : "");
		if (key)
			printf("signed: %s:%s (%zu signature%s%s)\n", bp_reference_name(net),
			       signed_as.tag, signed_as.count, signed_as.count == 1 ? "" : "s",
			       signed_as.added ? "" : ", this key's there already");
	}
	rc = digestfile ? cli_write_digestfile(digestfile, digest) : EXIT_OK;
done:
	free(pinned);
	free(src);
	bp_reference_free(ref);
	bp_reference_free(net);
	bp_client_free(c);
	bp_sign_key_free(key);
	return rc;
}
