build-tsan/obj/src/cli/resolve.o: src/cli/resolve.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 src/util/strutil.h include/beampush/config.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
src/util/strutil.h:
include/beampush/config.h:
