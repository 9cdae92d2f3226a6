#!/bin/sh
# Records one real session of the reference server and client on this
# machine's loopback, as the loopback-*.pcap* files here were made
# (Linux, root or capture rights, dumpcap or tcpdump installed):
#
#   captures/make-loopback.sh OUT "SERVER FLAGS" "CLIENT FLAGS" IFACE TOOL
#
#   captures/make-loopback.sh captures/loopback-framed.pcapng "" "--dialect framed" lo dumpcap
#   captures/make-loopback.sh captures/loopback-original.pcapng "--dialect original" "--dialect original" lo dumpcap
#   captures/make-loopback.sh captures/loopback-original-glued.pcapng "--dialect original --pause-ms 0" "--dialect original" lo dumpcap
#   captures/make-loopback.sh captures/any-sll2-framed.pcap "" "--dialect framed" any tcpdump
#   captures/make-loopback.sh captures/any-sll-original.pcapng "--dialect original" "--dialect original" any dumpcap
#
# The server listens on 127.0.0.1:2635; the client lists the songs, plays
# frere_jacques to the end, lists the devices and quits.
set -e
BIN=${STREAMLAB:-target/release/streamlab}
out=$1; sflags=$2; cflags=$3; iface=$4; tool=$5
$BIN server --port 2635 --bind 127.0.0.1 $sflags -q &
server=$!
sleep 0.5
if [ "$tool" = tcpdump ]; then
    tcpdump -i "$iface" -U -w "$out" "tcp port 2635" 2>/dev/null &
else
    dumpcap -q -i "$iface" -f "tcp port 2635" -w "$out" 2>/dev/null &
fi
capture=$!
sleep 1.5
$BIN client 127.0.0.1:2635 $cflags --output null \
    --script "list; play frere_jacques; wait; devices; quit" || true
sleep 1
kill -INT $capture; wait $capture 2>/dev/null || true
kill -INT $server; wait $server 2>/dev/null || true
