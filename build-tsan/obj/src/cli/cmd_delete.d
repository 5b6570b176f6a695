build-tsan/obj/src/cli/cmd_delete.o: src/cli/cmd_delete.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 include/beampush/inspect.h include/beampush/manifest.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
include/beampush/inspect.h:
include/beampush/manifest.h:
