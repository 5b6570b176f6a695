/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_V1ID_H
#define BP_LIB_V1ID_H

/*
 * The legacy v1 IDs of a classic `docker save` export (dockerd <= 24, and
 * its Engine API export GET /images/{name}/get): each layer is a directory
 * <v1-id>/ holding VERSION, json and layer.tar, in name order, so the
 * directories come sorted by an ID that says nothing of the layer, and
 * manifest.json, which maps them to the image's layers, comes last. Docker
 * derives each v1 ID as the sha256 of the json member (less "id", "parent"
 * and, below the top layer, "os"), its keys sorted, with "layer_id" the
 * layer's chain ID and "parent" the parent's v1 ID added. So a json member,
 * read before its layer.tar, tells which of the image's layers that
 * layer.tar is, checked by a hash: a push can skip a layer it knows without
 * reading it, whatever the order of the export.
 */

#include <beampush/digest.h>

#include <stddef.h>

/*
 * The chain IDs of an image's layers (diff_ids, base first): the first is
 * its diff_id, each next the sha256 of "<chain id below> <diff_id>". out has
 * n entries. BP_ENOMEM.
 */
int bp_v1id__chain_ids(char *const *diff_ids, size_t n, char (*out)[BP_DIGEST_MAX]);

/*
 * Which of the n layers (chain IDs, base first) the json member (len bytes)
 * of directory v1_hex (64 hex) describes: its index, or -1 when none
 * matches (another format, a damaged member): the layer is then not known
 * before it is read.
 */
long bp_v1id__layer(const char *v1_hex, const char *json, size_t len,
		    const char (*chain)[BP_DIGEST_MAX], size_t n);

#endif
