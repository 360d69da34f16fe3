# The fidelity plot: associations lost plus invented per scenario, for the
# reference design and hubsync (verification off and on). Called by
# scripts/bench_fidelity.py with datafile and outfile set (-e).
set terminal pngcairo size 1200,560 font ",10"
set output outfile
set title "Associations wrong after the runs (lost + invented), per scenario (hubspot-sim)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [0.5:*]
set ylabel "associations wrong (log; 0 not drawn)"
set xtics rotate by -25 scale 0 font ",9"
set key top right
set grid ytics
plot datafile using 3:xtic(2) title "reference design", \
     datafile using 4 title "hubsync", \
     datafile using 5 title "hubsync + verification"
