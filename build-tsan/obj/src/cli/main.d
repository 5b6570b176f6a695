build-tsan/obj/src/cli/main.o: src/cli/main.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 src/util/strutil.h include/beampush/version.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
src/util/strutil.h:
include/beampush/version.h:
