#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The daemons run the way hybond-cpe@.service and hybond-hag@.service run
# them: options from --config files (the command line overriding them), a
# notification socket (a path for the CPE, an abstract name for the HAG)
# and a watchdog period. READY=1 comes after `ready` is logged, WATCHDOG=1
# at half the period, a download goes through the bonded path, SIGHUP
# reloads a changed --policy (RELOADING=1 ... READY=1) and keeps the old one
# when the new one is wrong (file:line in the log), SIGTERM sends
# STOPPING=1 and exits 0. A mistake in a config file stops the daemon with
# file:line before it touches anything. Then `make install DESTDIR=...`
# installs the expected files, the man page renders without warnings and
# names every option of --help, and the units pass systemd-analyze verify.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=${HYBOND:-build/hybond}
case $HB in /*) ;; *) HB=$PWD/$HB ;; esac
NOTIFYD=$PWD/build/tests/notifyd
[ -x "$NOTIFYD" ] || make -s build/tests/notifyd >/dev/null || { fail "build notifyd"; exit 1; }

topo_up
topo_mkfile small.bin 1
topo_start_nginx || { fail "nginx starts"; exit 1; }
D=$TOPO_DIR

# ---- config mistakes: file:line, exit 2, nothing installed ----------------
printf '# bad\nlan lan0\nsecondary-rat 10\n' >"$D/bad1.conf"
printf 'lan lan0\nworkers 0\nprimary pri0\nsecondary sec0\n' >"$D/bad2.conf"
printf 'lan lan0\nnat yes\n' >"$D/bad3.conf"
chmod 600 "$D"/bad*.conf
out=$(nsx "$NS_CPE" "$HB" cpe --config "$D/bad1.conf" 2>&1); rc=$?
check_eq "unknown key: exit status 2" "$rc" 2
check "unknown key: file:line and the closest key ($out)" \
	grep -qF "$D/bad1.conf:3: unknown key 'secondary-rat'; did you mean 'secondary-rate'?" <<<"$out"
out=$(nsx "$NS_CPE" "$HB" cpe --config "$D/bad2.conf" 2>&1); rc=$?
check_eq "bad value from the file: exit status 2" "$rc" 2
check "bad value from the file: the parser's error, then file:line ($out)" \
	grep -qF "$D/bad2.conf:2: the value above comes from this line" <<<"$out"
out=$(nsx "$NS_CPE" "$HB" cpe --config "$D/bad3.conf" 2>&1); rc=$?
check "a flag with a value: file:line ($out)" \
	grep -qF "$D/bad3.conf:2: 'nat' is a flag and takes no value" <<<"$out"
out=$(nsx "$NS_CPE" "$HB" cpe --lan lan0 --primary pri0 --secondary sec0 --sched fast 2>&1); rc=$?
check "--sched with an unknown policy: named, the choices, exit 2 ($out)" \
	test "$rc" = 2 -a -n "$(grep -F "hybond: --sched 'fast': expected batch (the default) or normal" <<<"$out")"
out=$(nsx "$NS_CPE" "$HB" cpe --config "$D/missing.conf" 2>&1); rc=$?
check "an unreadable file: named, exit 2 ($out)" \
	test "$rc" = 2 -a -n "$(grep -F "missing.conf: cannot read the config file" <<<"$out")"
check_eq "nothing installed by the refused starts (no clsact on lan0)" \
	"$(nsx "$NS_CPE" tc qdisc show dev lan0 | grep -c clsact)" 0

# The shipped examples hold only known keys: they fail on the interfaces.
for r in cpe hag; do
	out=$(nsx "$NS_H" "$HB" $r --config user/dist/$r.conf.example 2>&1); rc=$?
	check "$r.conf.example: only its interfaces are missing here ($(head -n1 <<<"$out"))" \
		test "$rc" = 2 -a -n "$(grep -E "no such interface" <<<"$out")" \
		-a -z "$(grep -E "unknown key|flag|needs a value" <<<"$out")"
done

# ---- the daemons as the units run them ------------------------------------
printf 'default bond\nbypass port 8080\n' >"$D/cpe.policy"
cat >"$D/cpe.conf" <<CONF
# CPE of the service test
lan lan0
primary = pri0
secondary=sec0
name from-the-file        # the command line's --name wins
policy $D/cpe.policy
stall-timeout 60
CONF
cat >"$D/hag.conf" <<CONF
access   acc0
core     core0
secondary sec0
subscribers 192.0.2.0/24,2001:db8:1::/64
sched normal
CONF
chmod 600 "$D/cpe.conf" "$D/hag.conf" "$D/cpe.policy"

HAG_SOCK=@hybond-test-$TOPO_ID
topo_spawn "$NS_CPE" "$D/notifyd-cpe.log" "$NOTIFYD" "$D/notify.sock" "$D/cpe.notify" "$D/cpe.log" "info: ready:"
topo_spawn "$NS_HAG" "$D/notifyd-hag.log" "$NOTIFYD" "$HAG_SOCK" "$D/hag.notify" "$D/hag.log" "info: ready:"
wait_for "$D/notifyd-cpe.log" "listening" 5 && wait_for "$D/notifyd-hag.log" "listening" 5 ||
	{ fail "notification listeners start"; exit 1; }

topo_spawn "$NS_HAG" "$D/hag.log" env NOTIFY_SOCKET="$HAG_SOCK" WATCHDOG_USEC=1000000 \
	"$HB" hag --config "$D/hag.conf"
HAG_PID=$TOPO_LAST_PID
topo_spawn "$NS_CPE" "$D/cpe.log" env NOTIFY_SOCKET="$D/notify.sock" WATCHDOG_USEC=1000000 \
	WATCHDOG_PID=$$ "$HB" cpe --config "$D/cpe.conf" --name svc
CPE_PID=$TOPO_LAST_PID
wait_for "$D/hag.log" "info: ready:" 10 && wait_for "$D/cpe.log" "info: ready:" 10 ||
	{ fail "daemons log ready"; exit 1; }
ok "both daemons log ready with --config"
check "the command line's --name overrides the file's" grep -q "ready: cpe 'svc'" "$D/cpe.log"
check "the file's --policy is in force" grep -qF "policy $D/cpe.policy" "$D/cpe.log"

# Scheduling policy of every thread: SCHED_BATCH by default (the CPE),
# SCHED_OTHER with --sched normal (the HAG's file); the ready line says it.
policies() { # PID -> the distinct policies of its threads
	local t
	for t in /proc/"$1"/task/*; do
		chrt -p "${t##*/}" 2>/dev/null | sed -n 's/.*scheduling policy: //p'
	done | sort -u | tr '\n' ' '
}
check_eq "cpe: every thread runs SCHED_BATCH (default)" "$(policies "$CPE_PID")" "SCHED_BATCH "
check_ge "cpe: threads looked at (main, hold, a worker per CPU)" "$(ls /proc/"$CPE_PID"/task | wc -l)" 3
check "cpe: the ready line says SCHED_BATCH" grep -q "ready: cpe .*threads SCHED_BATCH" "$D/cpe.log"
check_eq "hag: 'sched normal' from its file: every thread SCHED_OTHER" "$(policies "$HAG_PID")" "SCHED_OTHER "
check "hag: the ready line says SCHED_OTHER" grep -q "ready: hag .*threads SCHED_OTHER" "$D/hag.log"

for r in cpe hag; do
	wait_for "$D/$r.notify" "READY=1" 5
	line=$(grep -m1 "READY=1" "$D/$r.notify")
	check_eq "$r: READY=1 arrived, after 'ready' was logged" "$(cut -d' ' -f2 <<<"$line")" 1
done

# Watchdog: WATCHDOG_USEC=1 s -> a ping every 0.5 s. The CPE's
# WATCHDOG_PID is not its own pid, so it must not ping.
sleep 2.6
n=$(grep -c "WATCHDOG=1" "$D/hag.notify")
check_ge "hag: WATCHDOG=1 pings in 2.6 s" "$n" 5
gap=$(grep "WATCHDOG=1" "$D/hag.notify" | awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { print m + 0 }')
check_le "hag: longest gap between pings (ms), under the 1000 ms period" "$gap" 700
check_eq "cpe: no pings when WATCHDOG_PID is another process" "$(grep -c "WATCHDOG=1" "$D/cpe.notify")" 0

# ---- the bonded path with the config-file daemons -------------------------
stats() { nsx "$NS_CPE" "$HB" stats -j --name svc; }
want=$(sha_of "$D/www/small.bin")
code=$(nsx "$NS_H" curl -s -o "$D/down" -w '%{http_code}' --max-time 20 "http://$S4/small.bin")
check_eq "download through the bonded path: HTTP status" "$code" 200
check_eq "download: sha256" "$(sha_of "$D/down")" "$want"
check_eq "download: nginx saw H@" "$(tail -n1 "$D/nginx/access.log" | cut -d' ' -f1)" "$H4"
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://[$S6]/small.bin")
check_eq "IPv6 download through the bonded path: HTTP status" "$code" 200
s=$(stats)
check_ge "stats: SYNs bonded" "$(jq .policy.bond.syns <<<"$s")" 2
by0=$(jq .policy.bypass.syns <<<"$s")
nsx "$NS_H" curl -s -o /dev/null --max-time 20 "http://$S4:8080/small.bin"
check_eq "policy a: port 8080 bypassed" "$(stats | jq .policy.bypass.syns)" $((by0 + 1))

# ---- SIGHUP: a changed policy is reloaded ---------------------------------
printf 'default bond\nbypass port 80\n' >"$D/cpe.policy"
kill -HUP "$CPE_PID"
wait_for "$D/cpe.log" "policy .*cpe.policy applied" 5
check "SIGHUP: the changed policy is applied (log)" grep -q "policy .*cpe.policy applied: 1 rules" "$D/cpe.log"
wait_for "$D/cpe.notify" "RELOADING=1" 5
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" grep -qE "RELOADING=1 MONOTONIC_USEC=[0-9]+" "$D/cpe.notify"
for ((i = 0; i < 50; i++)); do [ "$(grep -c "READY=1" "$D/cpe.notify")" -ge 2 ] && break; sleep 0.1; done
check_eq "SIGHUP: READY=1 again after RELOADING=1" \
	"$(grep -oE "RELOADING=1|READY=1" "$D/cpe.notify" | tail -n2 | tr '\n' ' ')" "RELOADING=1 READY=1 "
check "policy show: port 80 bypassed now" grep -q "bypass port 80\b" <<<"$(nsx "$NS_CPE" "$HB" policy show --name svc)"
s0=$(stats)
nsx "$NS_H" curl -s -o /dev/null --max-time 20 "http://$S4/small.bin"
s1=$(stats)
check_eq "after the reload port 80 is bypassed (stats)" \
	"$(jq .policy.bypass.syns <<<"$s1")" $(($(jq .policy.bypass.syns <<<"$s0") + 1))
check_eq "...and not bonded" "$(jq .policy.bond.syns <<<"$s1")" "$(jq .policy.bond.syns <<<"$s0")"

# ---- SIGHUP: a bad policy keeps the running one ---------------------------
printf 'default bond\nbypass port 80-\n' >"$D/cpe.policy"
kill -HUP "$CPE_PID"
wait_for "$D/cpe.log" "refused, the running policy stays" 5
check "SIGHUP with a bad policy: file:line in the log" \
	grep -qF "$D/cpe.policy:2:" "$D/cpe.log"
check "the running policy stays (port 80 still bypassed)" \
	grep -q "bypass port 80\b" <<<"$(nsx "$NS_CPE" "$HB" policy show --name svc)"
for ((i = 0; i < 50; i++)); do [ "$(grep -c "READY=1" "$D/cpe.notify")" -ge 3 ] && break; sleep 0.1; done
check_eq "READY=1 after the refused reload too" "$(grep -c "READY=1" "$D/cpe.notify")" 3
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://$S4:8080/small.bin")
check_eq "traffic still flows (port 8080, bonded)" "$code" 200
kill -HUP "$HAG_PID"
wait_for "$D/hag.log" "SIGHUP: no --policy file" 5
check "HAG without --policy: SIGHUP says there is nothing to reload" grep -q "SIGHUP: no --policy file" "$D/hag.log"
check "the HAG keeps running" kill -0 "$HAG_PID"

# ---- SIGTERM: STOPPING=1 and exit 0 ---------------------------------------
for r in cpe hag; do
	if [ $r = cpe ]; then pid=$CPE_PID; else pid=$HAG_PID; fi
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	wait "$pid"
	check_eq "$r: SIGTERM: exit status" "$?" 0
	check "$r: STOPPING=1 sent" grep -q "STOPPING=1" "$D/$r.notify"
done
check_eq "no clsact left on lan0" "$(nsx "$NS_CPE" tc qdisc show dev lan0 | grep -c clsact)" 0

# ---- make install, the man page, the units --------------------------------
R=$D/root
make -s install DESTDIR="$R" >"$D/install.log" 2>&1
check_eq "make install DESTDIR=: exit status" "$?" 0
got=$(cd "$R" && find . \( -type f -o -type d -empty \) | sort | tr '\n' ' ')
want_files="./etc/hybond ./usr/local/lib/systemd/system/hybond-cpe@.service \
./usr/local/lib/systemd/system/hybond-hag@.service ./usr/local/sbin/hybond \
./usr/local/share/doc/hybond/README.md ./usr/local/share/doc/hybond/cpe.conf.example \
./usr/local/share/doc/hybond/cpe.policy ./usr/local/share/doc/hybond/hag.conf.example \
./usr/local/share/doc/hybond/hag.policy ./usr/local/share/doc/hybond/performance.md \
./usr/local/share/doc/hybond/policy.md \
./usr/local/share/man/man8/hybond.8 "
check_eq "make install: the expected files" "$got" "$want_files"
check "the units run the installed binary" \
	grep -q "^ExecStart=/usr/local/sbin/hybond cpe --config /etc/hybond/%i.conf --name %i$" \
	"$R/usr/local/lib/systemd/system/hybond-cpe@.service"
MAN=$R/usr/local/share/man/man8/hybond.8
check_eq "groff -man -ww: no warnings" "$(groff -man -Tutf8 -ww "$MAN" 2>&1 >/dev/null)" ""
page=$(MANWIDTH=200 man -l "$MAN" 2>/dev/null | col -b)
check "man -l renders the page" grep -q "CONFIGURATION FILE" <<<"$page"
missing=
for o in $( ("$HB" cpe --help; "$HB" hag --help) | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -qe "$o" <<<"$page" || missing="$missing $o"
done
check_eq "every long option of --help is in the man page" "$missing" ""
if command -v systemd-analyze >/dev/null; then
	for r in cpe hag; do
		sed "s|/usr/local/sbin/hybond|$R/usr/local/sbin/hybond|" \
			"$R/usr/local/lib/systemd/system/hybond-$r@.service" >"$D/hybond-$r@t.service"
	done
	out=$(MANPATH=$R/usr/local/share/man systemd-analyze verify "$D/hybond-cpe@t.service" \
		"$D/hybond-hag@t.service" 2>&1)
	check "systemd-analyze verify: the units ($out)" test -z "$out"
else
	skip "systemd-analyze not installed"
fi
make -s uninstall DESTDIR="$R" >>"$D/install.log" 2>&1
check_eq "make uninstall leaves only /etc/hybond" \
	"$(cd "$R" && find . -type f | wc -l)" 0

t_finish
