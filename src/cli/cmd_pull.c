/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <beampush/reference.h>
#include <beampush/sign.h>

#include <stdlib.h>
#include <string.h>

/* beampush pull [--to DEST] [--verify-key PUB] REF */
int cmd_pull(global_opts *g, int argc, char **argv)
{
	const char *to = NULL, *verify = NULL;
	int all_platforms = 0;
	const cli_option opts[] = {
		{ "--to", NULL, OPT_STRING, &to, "DEST",
		  "where to put the image: oci:DIR[:TAG], oci-archive:FILE[:REF], "
		  "docker-archive:FILE[:REF] or docker-daemon:REF (default, when a daemon "
		  "answers)" },
		{ "--platform", NULL, OPT_STRING, &g->platform, "OS/ARCH[/VARIANT]",
		  "from an index, the platform to pull (default: this machine's)" },
		{ "--all-platforms", NULL, OPT_FLAG, &all_platforms, NULL,
		  "from an index, pull every platform and keep the index (--to oci:DIR or "
		  "oci-archive:FILE only)" },
		{ "--verify-key", NULL, OPT_STRING, &verify, "PUB",
		  "accept the image only with a cosign signature that public key PUB verifies "
		  "(default: the config's verify-key)" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_verify_key *key = NULL;
	bp_client *c = NULL;
	bp_reference *ref = NULL, *net = NULL;
	bp_pull_result res;
	char *dflt = NULL;
	bp_transport_kind kind;
	int i, err, rc;

	i = cli_parse("pull", "REF", "Pull an image from a registry, verifying every digest.",
		      opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("pull: expected one REF, got %d (see beampush pull --help)", argc - i);
		return EXIT_USAGE;
	}
	if (all_platforms && g->platform) {
		cli_error("pull: --all-platforms and --platform exclude each other");
		return EXIT_USAGE;
	}
	kind = to ? cli_transport_kind(to) : BP_TRANSPORT_NONE;
	if (all_platforms && kind != BP_TRANSPORT_OCI && kind != BP_TRANSPORT_OCI_ARCHIVE) {
		cli_error("pull: --all-platforms keeps a whole index: say where with --to oci:DIR "
			  "or --to oci-archive:FILE");
		return EXIT_USAGE;
	}
	if ((err = bp_reference_parse(&ref, argv[i]))) {
		cli_error("%s", bp_error_last());
		return EXIT_USAGE;
	}
	/* the name the network sees, after the endpoint mapping */
	if ((rc = cli_reference(g, "pull", argv[i], 0, &net)))
		goto done;
	if (!verify)
		verify = g->verify_key;
	if (verify && (err = bp_verify_key_load(&key, verify))) {
		cli_error("pull: %s%s", bp_error_last(),
			  verify == g->verify_key ? " (the verify-key of beampush's config)" : "");
		rc = EXIT_USAGE;
		goto done;
	}
	if (!to) {
		/* the Docker daemon, as docker pull does, when one answers */
		if ((err = bp_daemon_check())) {
			cli_error("pull: %s; say where to put the image with --to oci:DIR[:TAG], "
				  "--to oci-archive:FILE or --to docker-archive:FILE",
				  bp_error_last());
			rc = EXIT_USAGE;
			goto done;
		}
		if (!(dflt = malloc(strlen(argv[i]) + sizeof("docker-daemon:")))) {
			rc = EXIT_FAIL;
			goto done;
		}
		snprintf(dflt, strlen(argv[i]) + sizeof("docker-daemon:"), "docker-daemon:%s", argv[i]);
		to = dflt;
	}
	if (cli_check_transport("pull", "--to", to) < 0) {
		rc = EXIT_USAGE;
		goto done;
	}
	cli_client_options(g, &co);
	co.all_platforms = all_platforms;
	cli_progress_verb("Pulling");
	if ((err = bp_client_new(&c, &co))) {
		rc = cli_fail(err);
		goto done;
	}
	bp_client_require_signature(c, key);
	if ((err = bp_pull_image(c, net, to, &res))) {
		rc = cli_fail(err);
		goto done;
	}
	cli_progress_end();
	if (g->quiet) {
		printf("%s\n", res.digest);
	} else {
		printf("pulled %s\n", bp_reference_string(ref));
		if (strcmp(bp_reference_string(ref), bp_reference_string(net)) != 0)
			printf("location: %s\n", bp_reference_string(net));
		printf("digest: %s\n", res.digest);
		if (key)
			printf("signature: verified with %s\n", verify);
		/* in the daemon: the ID, which docker run takes, pinned to these bytes */
		if (res.image_id[0])
			printf("image id: %s\n", res.image_id);
	}
	/*
	 * Docker 20.10 keeps no registry digest for a loaded image: the pinned
	 * reference a push printed would not find it, and docker run would go
	 * to the registry for it again. Say what runs it instead.
	 */
	if (!g->quiet && res.image_id[0] && !res.pinned_found)
		cli_error("note: the daemon records no registry digest for an image it loads, so "
			  "%s does not name it there; run it pinned by its ID: docker run %s",
			  res.pinned, res.image_id);
	rc = EXIT_OK;
done:
	free(dflt);
	bp_reference_free(ref);
	bp_reference_free(net);
	bp_client_free(c);
	bp_verify_key_free(key);
	return rc;
}
