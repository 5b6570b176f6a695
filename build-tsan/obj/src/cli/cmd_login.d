build-tsan/obj/src/cli/cmd_login.o: src/cli/cmd_login.c src/cli/cli.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/transport.h \
 src/util/strutil.h
src/cli/cli.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/transport.h:
src/util/strutil.h:
