/* Janus 1.1.2 never gathers ICE candidates on an interface flagged IFF_LOOPBACK (its
 * janus_ice_setup_local skips them before it reads ice_enforce_list), and the benchmarks run on
 * 127.0.0.1 only. janus_peer.py --webrtc preloads this into Janus: getifaddrs(3) answers as
 * usual, without that flag, so ice_enforce_list = "127.0.0.1" (janus.jcfg) makes Janus gather
 * 127.0.0.1 and nothing else. Nothing else in Janus is touched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **interfaces) {
	int (*system_getifaddrs)(struct ifaddrs **) =
		(int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if(system_getifaddrs == NULL)
		return -1;
	int result = system_getifaddrs(interfaces);
	if(result == 0) {
		for(struct ifaddrs *entry = *interfaces; entry != NULL; entry = entry->ifa_next)
			entry->ifa_flags &= ~IFF_LOOPBACK;
	}
	return result;
}
