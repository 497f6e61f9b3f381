# shellcheck shell=bash
# The reading side of tests/perf/warm-start.sh: the console log of its bed
# session into one line per run, a table of medians and, with gnuplot, a
# PNG. Sourced by warm-start.sh, whose runs, mem, have_ignis, bed_wall,
# GUEST_KERNEL and FN_ROOTFS it reads; ws_report sets ws_failed (0/1).
# shellcheck disable=SC2154,SC2034

# ws_line CONSOLE TAG KIND: the rest of the first "<TAG> <KIND> " line.
ws_line() { grep -a -m1 "^$2 $3 " "$1" | cut -d' ' -f3- | tr -d '\r' || true; }
ws_kv() { printf ' %s\n' "$1" | sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p"; }

# ws_first CONSOLE TAG METRIC WANT_INVOCATION -> "<ms> ms" or a failure note;
# records METRIC (first 200) and METRIC_warm (each later invocation).
ws_first() {
	local con=$1 tag=$2 metric=$3 want=$4 line ms inv w
	line=$(ws_line "$con" "$tag" FN_FIRST)
	if [ -z "$line" ]; then
		echo "FAILED ($(ws_line "$con" "$tag" FN_FAIL | cut -c1-80))"
		echo FAIL >>"$ws_results"
		return
	fi
	ms=$(ws_kv "$line" ms)
	inv=$(ws_kv "$line" invocation)
	if [ -n "$want" ] && [ "$inv" != "$want" ]; then
		echo "${ms} ms but invocation $inv, not $want (not the snapshot's guest)"
		echo FAIL >>"$ws_results"
		return
	fi
	echo "$metric $ms" >>"$ws_results"
	grep -a "^$tag FN_WARM " "$con" | tr -d '\r' | while read -r _ _ _ w; do
		w=$(ws_kv "$w" ms)
		[ -n "$w" ] && echo "${metric}_warm $w" >>"$ws_results"
	done
	printf '%.0f ms' "$ms"
}

ws_median() { # METRIC -> median or empty
	awk -v k="$1" '$1 == k { v[++n] = $2 }
	END {
		if (!n) exit
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
		printf "%.1f", n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
	}' "$ws_results"
}

ws_row() { # LABEL IGNIS QEMU -> a markdown row with the ratio
	local r="-"
	[ -n "$2" ] && [ -n "$3" ] && r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", a / b }')
	printf '| %-44s | %9s | %9s | %6s |\n' "$1" "${2:--}" "${3:--}" "$r"
}

# ws_ignis_run CONSOLE RUN -> the run's ignis line (records its metrics).
ws_ignis_run() {
	local con=$1 i=$2 l fe su
	l="ignis run $i: cold -> 200 $(ws_first "$con" "ig-cold-$i" ig_cold 1)"
	l+="; snapshot $(ws_line "$con" "ig-cold-$i" FN_SNAPSHOT)"
	grep -aq "^ig-cold-$i FN_SNAPSHOT ok" "$con" || ws_failed=1
	for b in file uffd uffdws pre ws filec wsc; do
		grep -aq "^ig-$b-$i " "$con" || continue
		l+="; $b -> 200 $(ws_first "$con" "ig-$b-$i" "ig_$b" 5)"
		fe=$(grep -a "^ig-$b-$i FN_LOG .*first vCPU exit" "$con" | sed -n 's/.*first vCPU exit \([0-9.]*\) ms.*/\1/p' | head -n1)
		su=$(grep -a "^ig-$b-$i FN_LOG .*API server listening" "$con" | sed -n 's/.*(startup \([0-9]*\) us.*/\1/p' | head -n1)
		[ -n "$fe" ] && echo "ig_${b}_exit $fe" >>"$ws_results" && l+=" (first vCPU exit $fe ms)"
		[ "$b" = file ] && for t in rew rew2; do
			grep -aq "^ig-$t-$i " "$con" || continue
			l+="; rewind -> 200 $(ws_first "$con" "ig-$t-$i" ig_rew 5)"
		done
		[ "$b" = file ] && { grep -a "^ig-file-$i FN_LOG .*snapshot rewind: " "$con" || true; } |
			sed -n 's/.*rewind: \([0-9]*\) guest pages.* in \([0-9.]*\) ms.*/\1 \2/p' |
			while read -r pages ms; do
				echo "ig_rew_pages $pages" >>"$ws_results"
				echo "ig_rew_ms $ms" >>"$ws_results"
			done
		{ grep -a "^ig-$b-$i FN_LOG .*prefetched" "$con" || true; } |
			sed -n 's/.*prefetched \([0-9]*\) pages.* in \([0-9.]*\) ms.*/\1 \2/p' |
			while read -r pages ms; do
				echo "ig_${b}_pf_pages $pages" >>"$ws_results"
				echo "ig_${b}_pf_ms $ms" >>"$ws_results"
			done
		{ grep -a "^ig-$b-$i FN_UFFD .*prefetched" "$con" || true; } |
			sed -n 's/.*prefetched \([0-9]*\) of .* in \([0-9.]*\) ms (\([0-9.]*\) ms of CPU; \([0-9]*\) faults.*/\1 \2 \3 \4/p' |
			while read -r pages ms cpu faults; do
				printf 'ig_%s_pf_pages %s\nig_%s_pf_ms %s\nig_%s_pf_cpu %s\nig_%s_pf_faults %s\n' \
					"$b" "$pages" "$b" "$ms" "$b" "$cpu" "$b" "$faults" >>"$ws_results"
			done
		[ -n "$su" ] && echo "ig_${b}_startup $(awk -v u="$su" 'BEGIN { printf "%.1f", u / 1000 }')" >>"$ws_results"
	done
	echo "$l"
}

# ws_report CONSOLE RESULTS_FILE
ws_report() {
	local con=$1 i fl
	ws_results=$2
	ws_failed=0
	: >"$ws_results"
	echo
	echo "warm-start: bed wall time ${bed_wall:-?} s; $(grep -a -m1 '^WS_L1 ' "$con" | cut -d' ' -f2- | tr -d '\r')"
	echo "guest: kernel $GUEST_KERNEL, rootfs $FN_ROOTFS, $mem MiB, 1 vCPU"
	grep -aq '^WS_DONE' "$con" || { echo "warm-start: the L1 script did not finish"; ws_failed=1; }
	grep -a ' FN_STEP_FAILED\| FN_CONSOLE \|^WS_STEP_FAILED' "$con" | tr -d '\r' | sed 's/^/warm-start: /' && ws_failed=1
	for i in $(seq 1 "$runs"); do
		[ "$have_ignis" = 1 ] && ws_ignis_run "$con" "$i"
		echo "qemu  run $i: cold -> 200 $(ws_first "$con" "q-cold-$i" q_cold 1); migrate $(ws_line "$con" "q-cold-$i" FN_SNAPSHOT); load -> 200 $(ws_first "$con" "q-load-$i" q_load 5); cache dropped: load -> 200 $(ws_first "$con" "q-loadc-$i" q_loadc 5)"
		grep -aq "^q-cold-$i FN_SNAPSHOT ok" "$con" || ws_failed=1
	done
	fl=$(grep -a '^floor kvm-floor .* median:' "$con" | sed -n 's/.* total \([0-9.]*\) us.*/\1/p' | head -n1)
	[ -n "$fl" ] && echo "floor $(awk -v u="$fl" 'BEGIN { printf "%.3f", u / 1000 }')" >>"$ws_results"
	[ -n "$fl" ] || { echo "warm-start: no kvm-floor median from L1"; ws_failed=1; }

	grep -q '^FAIL' "$ws_results" && ws_failed=1
	echo
	echo "medians over the good runs, ms (ratio = ignis / QEMU):"
	printf '| %-44s | %9s | %9s | %6s |\n' "" ignis QEMU ratio
	echo "|----------------------------------------------|-----------|-----------|--------|"
	ws_row "cold boot -> first 200" "$(ws_median ig_cold)" "$(ws_median q_cold)"
	ws_row "snapshot load (File) -> first 200" "$(ws_median ig_file)" "$(ws_median q_load)"
	ws_row "snapshot load (Uffd) -> first 200" "$(ws_median ig_uffd)" "$(ws_median q_load)"
	ws_row "prefetched Uffd load -> first 200" "$(ws_median ig_uffdws)" "$(ws_median q_load)"
	ws_row "  handler's prefetch itself (ms)" "$(ws_median ig_uffdws_pf_ms)" ""
	ws_row "  of it, the handler's CPU time (ms)" "$(ws_median ig_uffdws_pf_cpu)" ""
	ws_row "  faults served while it prefetched" "$(ws_median ig_uffdws_pf_faults)" ""
	ws_row "pre-warmed load (File) -> first 200" "$(ws_median ig_pre)" "$(ws_median q_load)"
	ws_row "rewind (in-process) -> first 200" "$(ws_median ig_rew)" "$(ws_median q_load)"
	ws_row "prefetched File load -> first 200" "$(ws_median ig_ws)" "$(ws_median q_load)"
	ws_row "page cache dropped: File load -> first 200" "$(ws_median ig_filec)" "$(ws_median q_loadc)"
	ws_row "page cache dropped: prefetched -> first 200" "$(ws_median ig_wsc)" "$(ws_median q_loadc)"
	ws_row "  prefetch itself, warm cache (ms)" "$(ws_median ig_ws_pf_ms)" ""
	ws_row "  prefetch itself, cache dropped (ms)" "$(ws_median ig_wsc_pf_ms)" ""
	ws_row "  working set, pages of 4 KiB" "$(ws_median ig_ws_pf_pages)" ""
	ws_row "invocation after a cold boot (warm)" "$(ws_median ig_cold_warm)" "$(ws_median q_cold_warm)"
	ws_row "invocation after a File load / QEMU load" "$(ws_median ig_file_warm)" "$(ws_median q_load_warm)"
	ws_row "invocation after a Uffd load" "$(ws_median ig_uffd_warm)" ""
	ws_row "invocation after a pre-warmed load" "$(ws_median ig_pre_warm)" ""
	ws_row "invocation after a rewind" "$(ws_median ig_rew_warm)" ""
	ws_row "rewind itself (ignis's log), ms" "$(ws_median ig_rew_ms)" ""
	ws_row "rewind: guest pages dropped" "$(ws_median ig_rew_pages)" ""
	ws_row "load request -> first vCPU exit (File)" "$(ws_median ig_file_exit)" ""
	ws_row "load request -> first vCPU exit (Uffd)" "$(ws_median ig_uffd_exit)" ""
	ws_row "load request -> first vCPU exit (Uffd, prefetched)" "$(ws_median ig_uffdws_exit)" ""
	ws_row "load request -> first vCPU exit (pre-warmed)" "$(ws_median ig_pre_exit)" ""
	ws_row "fresh ignis: exec -> API listening" "$(ws_median ig_file_startup)" ""
	ws_row "ignis --prewarm: exec -> API listening" "$(ws_median ig_pre_startup)" ""
	ws_row "bare-KVM floor in L1 (kvm-floor total)" "$(ws_median floor)" ""
	awk -v c="$(ws_median ig_cold)" -v f="$(ws_median ig_file)" -v e="$(ws_median ig_file_exit)" \
		-v fl="$(ws_median floor)" -v p="$(ws_median ig_pre)" -v pe="$(ws_median ig_pre_exit)" \
		-v r="$(ws_median ig_rew)" -v w="$(ws_median ig_ws)" -v fc="$(ws_median ig_filec)" \
		-v wc="$(ws_median ig_wsc)" -v u="$(ws_median ig_uffd)" -v uw="$(ws_median ig_uffdws)" 'BEGIN {
		if (c != "" && f != "" && f > 0) printf "ignis: a File load answers %.1f x sooner than a cold boot\n", c / f
		if (f != "" && p != "" && p > 0) printf "ignis: a pre-warmed load answers %.1f x sooner than a File load\n", f / p
		if (f != "" && r != "" && r > 0) printf "ignis: a rewind answers %.1f x sooner than a File load\n", f / r
		if (f != "" && w != "" && w > 0) printf "ignis: a prefetched load answers %.1f x sooner than a File load\n", f / w
		if (u != "" && uw != "" && uw > 0) printf "ignis: a prefetched Uffd load answers %.1f x sooner than a lazy one\n", u / uw
		if (fc != "" && wc != "" && wc > 0) printf "ignis, page cache dropped: prefetched %.1f x sooner than File\n", fc / wc
		if (e != "" && fl != "" && fl > 0) printf "ignis: load -> first vCPU exit = %.1f x the L1 floor\n", e / fl
		if (pe != "" && fl != "" && fl > 0) printf "ignis: pre-warmed load -> first vCPU exit = %.1f x the L1 floor\n", pe / fl
	}'
}

# ws_plot RESULTS_FILE PNG: the first-200 medians as bars (log scale).
ws_plot() {
	local data=$2.dat label metric v colour
	ws_results=$1
	: >"$data"
	for pair in "ignis cold boot:ig_cold" "QEMU cold boot:q_cold" "ignis load File:ig_file" \
		"ignis load Uffd:ig_uffd" "ignis prefetched Uffd:ig_uffdws" "ignis pre-warmed File:ig_pre" "ignis rewind:ig_rew" \
		"ignis prefetched File:ig_ws" "QEMU migrate-incoming:q_load" \
		"ignis File, cold cache:ig_filec" "ignis prefetched, cold cache:ig_wsc" \
		"QEMU load, cold cache:q_loadc"; do
		label=${pair%%:*}
		metric=${pair#*:}
		v=$(ws_median "$metric")
		colour=14245634 # 0xd95f02: ignis
		[ "${label#QEMU}" = "$label" ] || colour=7696563 # 0x7570b3: QEMU
		[ -n "$v" ] && printf '"%s" %s %s\n' "$label" "$v" "$colour" >>"$data"
	done
	gnuplot <<GP
set terminal png size 1000,600 font ",11"
set output "$2"
set title "Request -> first 200 of the function guest (median of $runs runs, nested bed: ratios matter)"
set ylabel "ms (log scale)"
set logscale y
set yrange [10:*]
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
set xtics nomirror rotate by -35 left
set bmargin 9
plot "$data" using 0:2:3:xtic(1) with boxes lc rgb variable notitle, \
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.8 notitle
GP
	rm -f "$data"
	echo "warm-start: plot written to $2"
}
