# The latency plot: for each portal and latency, how close a first run with
# default flags came to the physical minimum (minimum / wall) and the share
# of the burst budget it used over its span. Called by
# scripts/bench_latency.py with dat and out set (-e).
set terminal pngcairo size 1000,480 font ",10"
set output out
set title "First run at Pro limits, default flags: against the physical limit (hubspot-sim)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:1.1]
set ylabel "fraction"
set xtics rotate by -20 scale 0
set key top right
set grid ytics
plot dat using 3:xtic(2) title "minimum time / wall time", \
     dat using 4 title "burst budget used over the span"
