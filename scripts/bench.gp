# The bench plot: API calls and wall time by portal size, full scan and
# incremental, hubsync and the reference design's pace. Called by
# scripts/bench.sh with datafile and outfile set (-e).
set terminal pngcairo size 1200,500 font ",10"
set output outfile
set multiplot layout 1,2 title "hubsync vs the reference design's pace (hubspot-sim, Pro limits scaled)"
set logscale xy
set key top left
set grid
set xlabel "contacts in the portal"
set ylabel "API calls"
set title "API calls"
plot datafile using 1:2 with linespoints lw 2 title "hubsync full scan", \
     datafile using 1:3 with linespoints lw 2 title "hubsync incremental", \
     datafile using 1:4 with linespoints lw 2 dt 2 title "reference full scan", \
     datafile using 1:5 with linespoints lw 2 dt 2 title "reference incremental"
set ylabel "seconds"
set title "wall time"
plot datafile using 1:6 with linespoints lw 2 title "hubsync full scan", \
     datafile using 1:7 with linespoints lw 2 title "hubsync incremental", \
     datafile using 1:8 with linespoints lw 2 dt 2 title "reference full scan", \
     datafile using 1:9 with linespoints lw 2 dt 2 title "reference incremental"
unset multiplot
