build-tsan/obj/src/cli/cmd_inspect.o: src/cli/cmd_inspect.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 include/beampush/inspect.h include/beampush/manifest.h src/util/dynbuf.h \
 src/util/strutil.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
include/beampush/inspect.h:
include/beampush/manifest.h:
src/util/dynbuf.h:
src/util/strutil.h:
