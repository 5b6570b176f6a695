build-tsan/obj/src/cli/cmd_tags.o: src/cli/cmd_tags.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 src/util/dynbuf.h include/beampush/inspect.h include/beampush/manifest.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
src/util/dynbuf.h:
include/beampush/inspect.h:
include/beampush/manifest.h:
