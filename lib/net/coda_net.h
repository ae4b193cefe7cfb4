/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_NET_H
#define CODA_NET_H

/**
 * @file
 * coda_net: one lcore's network layer below TCP, on plain byte buffers.
 *
 * What: Ethernet (with one optional 802.1Q tag), ARP (resolver with a
 * per-core cache, responder), IPv4 (header validation, no fragments),
 * IPv6 (extension headers skipped within bounds, no fragments) with
 * Neighbour Discovery, ICMP and ICMPv6 echo replies, and the TCP checksum.
 * Received frames go in as (pointer, length); frames to send come out
 * through a callback, as bytes. No mbufs and no EAL: the port layer
 * (lib/port, lib/worker) maps mbufs onto these calls, so every path here
 * runs in unit tests under a virtual clock (`now` in milliseconds, passed
 * in, never read).
 *
 * Receive: coda_net_parse() validates a frame from Ethernet to the L4
 * checksum and fills a struct coda_net_rx (offsets, family, the 4-tuple as
 * a struct coda_conntab_key with laddr = the packet's destination, the TCP
 * header for coda_tcp_input()) or returns why to drop it, one reason of
 * net_drop.def. It writes nothing else, so any thread may call it.
 * coda_net_input() parses, counts, and acts: ARP and ND update the
 * neighbour caches and are answered, echo requests are answered, and TCP
 * is handed back to the caller (CODA_NET_RX_TCP).
 *
 * Transmit: coda_net_build_tcp() wraps a segment from coda_tcp's tx
 * callback (key + TCP bytes) in Ethernet and IPv4/IPv6 and fills the
 * checksums; coda_net_output_tcp() also resolves the next hop (the peer
 * itself: on-link only, no routes yet) and sends the frame, or parks it
 * in the neighbour's wait queue while ARP or ND resolves it.
 *
 * Neighbour caches: one for ARP (IPv4 keys), one for ND (IPv6 keys), same
 * code: a fixed number of 8-way buckets (docs/net.md), entries INCOMPLETE,
 * REACHABLE or STALE (or static), expiry on the caller's clock. Each
 * unresolved entry holds at most CODA_NET_NEIGH_QUEUE frames, copied into
 * a pool allocated at creation: nothing is allocated per packet.
 *
 * Header policies, for every frame built here: IPv4 TTL and IPv6 hop limit
 * 64 (255 for ND, RFC 4861); IPv4 DF set and ID 0 (RFC 6864 §4.1: an
 * atomic datagram's ID means nothing, and a constant leaks no counter);
 * DSCP/ECN 0; no IPv4 options, no IPv6 extension headers.
 *
 * Thread safety: a struct coda_net belongs to one lcore. coda_net_parse()
 * and coda_net_build_tcp() only read it (its configuration).
 *
 * Errors: constructors return NULL and set errno; the datapath never fails:
 * a frame it cannot take or send is dropped and counted under a reason.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coda_conntab.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Drop reasons: CODA_NET_DROP_NONE, then one per line of net_drop.def. */
enum coda_net_drop {
	CODA_NET_DROP_NONE = 0, /**< Not dropped. */
#define CODA_NET_DROP(NAME, name, desc) CODA_NET_DROP_##NAME,
#include "net_drop.def"
#undef CODA_NET_DROP
	CODA_NET_DROP__COUNT /**< Number of values, CODA_NET_DROP_NONE included. */
};

/** Display name of a drop reason ("too_short"; "none"), NULL out of range. */
const char *coda_net_drop_name(enum coda_net_drop r);

/** One-line description of a drop reason, NULL out of range. */
const char *coda_net_drop_desc(enum coda_net_drop r);

/** Bytes of a MAC address. */
#define CODA_NET_MAC_LEN 6
/** Addresses of each family a coda_net answers for, at most. */
#define CODA_NET_ADDR_MAX 8
/** IP MTU: the longest IP packet built here (header included). */
#define CODA_NET_MTU 1500
/** Longest frame built here: 14 (Ethernet) + 4 (802.1Q) + CODA_NET_MTU. */
#define CODA_NET_FRAME_MAX 1518
/** Frames one unresolved neighbour holds, at most; one more is dropped. */
#define CODA_NET_NEIGH_QUEUE 4
/** Ways (entries) of a neighbour cache bucket. */
#define CODA_NET_NEIGH_WAYS 8
/** IPv6 extension headers skipped before the upper layer, at most. */
#define CODA_NET_IPV6_EXT_MAX 4

/** Transmit one frame: @p len bytes at @p frame, valid during the call only. */
typedef void (*coda_net_xmit_fn)(void *arg, const void *frame, uint32_t len);

/** Configuration; coda_net_conf_default() zeroes it and fills the defaults in brackets. */
struct coda_net_conf {
	uint8_t mac[CODA_NET_MAC_LEN]; /**< Our MAC [00:00:00:00:00:00: must be set]. */
	/**
	 * 802.1Q [0]. 0: frames are untagged; a received tag is dropped under
	 * CODA_NET_DROP_VLAN, except a priority tag (VID 0), which 802.1Q says
	 * to treat as untagged. 1 to 4094: every received frame must carry
	 * one tag with this VID (untagged, other VIDs, stacked tags: VLAN
	 * drop), and every frame sent carries it (priority 0).
	 */
	uint16_t vlan_id;
	uint32_t nb_ip4; /**< Entries of ip4[] in use [0]. */
	uint32_t ip4[CODA_NET_ADDR_MAX]; /**< Our IPv4 addresses, network byte order. */
	uint32_t nb_ip6; /**< Entries of ip6[] in use [0]. */
	uint8_t ip6[CODA_NET_ADDR_MAX][16]; /**< Our IPv6 addresses (unicast). */
	/** Entries of each neighbour cache (ARP, ND), rounded up to a power of 2, at least 8 [256]. */
	uint32_t nb_neigh;
	/** Frames all wait queues hold together: the pool's slots [64]. */
	uint32_t nb_pending;
	uint32_t reachable_ms; /**< A confirmed neighbour stays REACHABLE this long [30000]. */
	uint32_t retrans_ms;   /**< Between ARP requests / NS for one neighbour [1000]. */
	uint32_t max_probes;   /**< Unanswered requests before giving up a neighbour [3]. */
	/**
	 * coda_net_output_tcp() leaves the IPv4 header checksum and the TCP
	 * checksum to the NIC [false]: see coda_net_build_tcp().
	 */
	bool tx_cksum_offload;
};

/** Zero @p c and fill the defaults. */
void coda_net_conf_default(struct coda_net_conf *c);

/** What a received frame carries (struct coda_net_rx.kind). */
enum coda_net_rx_kind {
	CODA_NET_RX_NONE = 0, /**< Dropped. */
	CODA_NET_RX_ARP,      /**< ARP; l4 is the ARP packet. */
	CODA_NET_RX_TCP,      /**< TCP to one of our unicast addresses, checksum verified. */
	CODA_NET_RX_ICMP,     /**< ICMP (IPv4), checksum verified. */
	CODA_NET_RX_ICMP6,    /**< ICMPv6, checksum verified. */
};

/** struct coda_net_rx.flags: the IP destination is a multicast address (IPv6 ND). */
#define CODA_NET_RX_F_MCAST 0x01

/**
 * A parsed frame. Valid when coda_net_parse() returned CODA_NET_DROP_NONE;
 * pointers point into the frame.
 */
struct coda_net_rx {
	/**
	 * TCP: the 4-tuple from our side (laddr/lport: the packet's
	 * destination). ICMP/ICMPv6: the addresses, ports 0. ARP: laddr =
	 * target protocol address, raddr = sender's, ports 0.
	 */
	struct coda_conntab_key key;
	const uint8_t *l4; /**< TCP header, ICMP header or ARP packet. */
	uint32_t l4_len;   /**< Bytes from l4 to the end of the IP payload (ARP: 28). */
	uint16_t l3_off;   /**< Offset of the IP (or ARP) header in the frame. */
	uint16_t l4_off;   /**< Offset of l4 in the frame. */
	uint16_t vlan_tci; /**< The 802.1Q TCI, 0 if untagged. */
	uint8_t kind;	   /**< enum coda_net_rx_kind. */
	uint8_t family;	   /**< AF_INET (ARP too) or AF_INET6. */
	uint8_t ttl;	   /**< IPv4 TTL or IPv6 hop limit (ND wants 255); 0 for ARP. */
	uint8_t flags;	   /**< CODA_NET_RX_F_*. */
};

/** What the network layer counts. */
struct coda_net_stats {
	uint64_t rx_frames;	  /**< Frames given to coda_net_input(). */
	uint64_t rx_tcp;	  /**< ... returned as TCP. */
	uint64_t rx_arp;	  /**< ... valid ARP. */
	uint64_t rx_icmp;	  /**< ... valid ICMP or ICMPv6. */
	uint64_t rx_dropped;	  /**< ... dropped (each also under its reason in drops[]). */
	uint64_t tx_frames;	  /**< Frames handed to the xmit callback. */
	uint64_t tx_tcp;	  /**< TCP frames built by coda_net_output_tcp() (sent or queued). */
	uint64_t tx_arp_request;  /**< ... ARP requests. */
	uint64_t tx_arp_reply;	  /**< ... ARP replies. */
	uint64_t tx_ns;		  /**< ... Neighbor Solicitations. */
	uint64_t tx_na;		  /**< ... Neighbor Advertisements. */
	uint64_t tx_echo_reply;	  /**< ... ICMP and ICMPv6 echo replies. */
	uint64_t tx_dropped;	  /**< Frames to send that were dropped (reason in drops[]). */
	uint64_t neigh_queued;	  /**< Frames parked in a wait queue. */
	uint64_t neigh_resolved;  /**< INCOMPLETE entries that got their MAC. */
	uint64_t neigh_evicted;	  /**< Entries pushed out for a new neighbour. */
	uint64_t drops[CODA_NET_DROP__COUNT]; /**< Per reason; [0] unused. */
};

/** A neighbour's state. Derived on the caller's clock (REACHABLE turns STALE by itself). */
enum coda_net_neigh_state {
	CODA_NET_NEIGH_NONE = 0,   /**< No entry. */
	CODA_NET_NEIGH_INCOMPLETE, /**< Request sent, no answer yet; frames may wait. */
	CODA_NET_NEIGH_REACHABLE,  /**< Confirmed within reachable_ms. */
	CODA_NET_NEIGH_STALE,	   /**< MAC known but not confirmed lately: used, and re-probed. */
	CODA_NET_NEIGH_STATIC,	   /**< Set by coda_net_neigh_add(): never expires, never learnt over. */
};

/** A neighbour, as coda_net_neigh_get() reports it. */
struct coda_net_neigh_info {
	enum coda_net_neigh_state state;
	uint8_t mac[CODA_NET_MAC_LEN]; /**< Zero while INCOMPLETE. */
	uint32_t probes;	       /**< Requests sent since the last confirmation. */
	uint32_t queued;	       /**< Frames waiting. */
	uint64_t expire_ms; /**< REACHABLE: turns STALE then; INCOMPLETE: next request then. */
};

struct coda_net;

/**
 * Make a network layer. @p xmit receives every frame to send.
 *
 * @return it, or NULL with errno EINVAL (@p conf or @p xmit NULL, MAC zero
 *         or multicast, vlan_id above 4094, more than CODA_NET_ADDR_MAX
 *         addresses, nb_neigh above 2^20, nb_pending 0 or above 65535,
 *         retrans_ms, reachable_ms or max_probes 0) or ENOMEM.
 */
struct coda_net *coda_net_create(const struct coda_net_conf *conf, coda_net_xmit_fn xmit,
				 void *xmit_arg);

/** Free @p net; frames still waiting are dropped uncounted. NULL is allowed. */
void coda_net_free(struct coda_net *net);

/**
 * Parse and validate one received frame; count and change nothing.
 *
 * Checks, in order (the drop reason in brackets): Ethernet header
 * [too_short], destination MAC ours, broadcast or 33:33:x (IPv6 multicast)
 * [not_our_mac], 802.1Q per conf.vlan_id [vlan], EtherType [bad_ether_type].
 * ARP: Ethernet/IPv4 lengths, operation 1 or 2 [bad_arp]. IPv4: version
 * [bad_ip_version], IHL [bad_ihl], total length [bad_ip_len], header
 * checksum [bad_ip_cksum], MF or offset [fragment], source [bad_src_addr],
 * destination one of ours [not_for_us], protocol TCP or ICMP
 * [unsupported_proto]. IPv6: version, payload length, source, destination
 * ours, the solicited-node group of one of ours, or ff02::1; extension
 * headers Hop-by-Hop (first only), Destination Options and Routing with
 * segments left 0 are skipped, at most CODA_NET_IPV6_EXT_MAX
 * [ipv6_ext_too_long, ipv6_routing, fragment], then TCP or ICMPv6. L4:
 * length [l4_too_short], checksum with the pseudo-header [bad_l4_cksum];
 * TCP to a multicast address [not_for_us].
 *
 * @param net    its configuration is read (addresses, MAC, VLAN).
 * @param frame  the frame from its Ethernet header on; any alignment. Only
 *               bytes in [frame, frame + len) are read.
 * @param len    frame length; bytes past the IP length (padding) are ignored.
 * @param rx     filled in; unspecified on a drop.
 * @return CODA_NET_DROP_NONE or the reason to drop the frame.
 */
enum coda_net_drop coda_net_parse(const struct coda_net *net, const void *frame, uint32_t len,
				  struct coda_net_rx *rx);

/** coda_net_input() flag: the NIC verified the IPv4 header checksum (skip it). */
#define CODA_NET_IN_IP_CKSUM_GOOD 0x01
/** coda_net_input() flag: the NIC verified the TCP/ICMP checksum (skip it). */
#define CODA_NET_IN_L4_CKSUM_GOOD 0x02
/**
 * coda_net_input() flag: a copy of a frame another worker received and
 * answered: learn neighbours from ARP and ND in it, send no reply (ARP
 * reply, NA, echo reply). Frames waiting for a neighbour learnt are sent.
 */
#define CODA_NET_IN_LEARN_ONLY 0x04

/**
 * Take one received frame: parse it, count it, and act on it. ARP: learn
 * the sender (RFC 826 merge), answer a request for one of our addresses,
 * send what waited for the sender. ICMP/ICMPv6 echo request to one of our
 * unicast addresses: answer. NS for one of ours: answer with an NA, learn
 * the source link-layer address. NA: learn the target (only for an entry
 * that exists, RFC 4861 §7.2.5). Replies go through the xmit callback
 * before this returns; they are sent to the request's source MAC.
 *
 * @param flags  CODA_NET_IN_* flags: what the NIC already verified, and
 *               whether to answer.
 * @return CODA_NET_RX_TCP: @p rx describes a TCP segment for
 *         coda_tcp_input(s, &rx->key, rx->l4, rx->l4_len, now);
 *         CODA_NET_RX_NONE: dropped and counted; CODA_NET_RX_ARP,
 *         CODA_NET_RX_ICMP, CODA_NET_RX_ICMP6: consumed here.
 */
enum coda_net_rx_kind coda_net_input(struct coda_net *net, const void *frame, uint32_t len,
				     unsigned int flags, uint64_t now, struct coda_net_rx *rx);

/** coda_net_build_tcp() flag: leave the IPv4 header and TCP checksums to the NIC. */
#define CODA_NET_TX_CKSUM_OFFLOAD 0x01

/**
 * Build the frame for one TCP segment: Ethernet (src our MAC, dst
 * @p dst_mac, the VLAN tag if configured), IPv4 (TTL 64, DF, ID 0) or IPv6
 * (hop limit 64), then the @p len TCP bytes with the checksum filled in.
 *
 * With CODA_NET_TX_CKSUM_OFFLOAD in @p flags, the IPv4 header checksum is
 * left 0 and the TCP checksum field holds the pseudo-header sum, not
 * complemented: what a DPDK NIC expects with RTE_MBUF_F_TX_IP_CKSUM and
 * RTE_MBUF_F_TX_TCP_CKSUM (the port layer sets those flags, and l2_len =
 * the returned length - IP header - @p len).
 *
 * @param k    the connection from our side, as coda_tcp's tx callback
 *             gives it: laddr is the source, raddr the destination.
 * @param tcp  TCP header and payload (its checksum field is overwritten in
 *             the copy).
 * @return the frame length, or 0 if @p len is below 20, the IP packet
 *         would exceed CODA_NET_MTU or the frame @p cap, or @p k's family is neither AF_INET nor
 *         AF_INET6.
 */
uint32_t coda_net_build_tcp(const struct coda_net *net, const uint8_t *dst_mac,
			    const struct coda_conntab_key *k, const void *tcp, uint32_t len,
			    void *buf, uint32_t cap, unsigned int flags);

/** coda_net_output_tcp() results. */
enum coda_net_tx_result {
	CODA_NET_TX_SENT = 0, /**< Handed to the xmit callback. */
	CODA_NET_TX_QUEUED,   /**< Waiting for ARP/ND; sent when the neighbour answers. */
	CODA_NET_TX_DROPPED,  /**< Dropped and counted (too big, cache or queue full). */
};

/**
 * Send one TCP segment (the body of a coda_tcp tx callback): resolve
 * k->raddr in the neighbour cache, build the frame (checksums per
 * conf.tx_cksum_offload), and send it. A miss creates an INCOMPLETE entry,
 * sends an ARP request or NS, and parks the frame; a STALE hit sends the
 * frame and, after 5 s in use without confirmation (RFC 4861 DELAY), a
 * unicast request to the known MAC at most once per retrans_ms.
 */
enum coda_net_tx_result coda_net_output_tcp(struct coda_net *net,
					    const struct coda_conntab_key *k, const void *tcp,
					    uint32_t len, uint64_t now);

/**
 * Run the neighbour timers due at @p now: retransmit requests for
 * INCOMPLETE entries every retrans_ms, and after max_probes unanswered
 * ones free the entry and drop its frames (neigh_unresolved). Cost: a scan
 * of both caches; call it every 100 ms or so.
 */
void coda_net_tick(struct coda_net *net, uint64_t now);

/**
 * Add a static neighbour (DESIGN.md §8 `--neigh IP=MAC`): never expires,
 * never changed by ARP/ND. Frames waiting for it are sent.
 *
 * @param family  AF_INET (@p addr 4 bytes, network order) or AF_INET6 (16).
 * @return 0; -EINVAL (bad family, multicast MAC); -ENOSPC (bucket full of
 *         static entries).
 */
int coda_net_neigh_add(struct coda_net *net, int family, const void *addr, const uint8_t *mac,
		       uint64_t now);

/**
 * Report a neighbour as the cache holds it at @p now.
 *
 * @return 0 and @p info filled; -ENOENT (no entry: info->state NONE);
 *         -EINVAL (bad family).
 */
int coda_net_neigh_get(const struct coda_net *net, int family, const void *addr, uint64_t now,
		       struct coda_net_neigh_info *info);

/** The counters. */
const struct coda_net_stats *coda_net_stats(const struct coda_net *net);

#ifdef __cplusplus
}
#endif

#endif /* CODA_NET_H */
