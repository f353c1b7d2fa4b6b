package study

import (
	"fmt"
	"io"
	"time"

	"github.com/medssl/medssl/eval"
)

// progress prints one line per event: cells done / running / left, elapsed time and an
// ETA from the durations of the cells (per arm) and pretrainings finished in this run,
// shared among the workers. Its callers serialise the calls.
type progress struct {
	w               io.Writer
	start           time.Time
	total, done     int
	workers         int
	armSeconds      map[eval.Arm][]float64
	pretrainSeconds []float64
	pretrainsLeft   int
	left            map[eval.Arm]int // cells left per arm, the running ones included
	running         map[eval.Arm]int // cells running per arm
}

func newProgress(w io.Writer, todo []Cell, done, pretrainsLeft, workers int) *progress {
	p := &progress{w: w, start: time.Now(), total: len(todo) + done, done: done, workers: max(1, workers),
		armSeconds: map[eval.Arm][]float64{}, pretrainsLeft: pretrainsLeft, left: map[eval.Arm]int{},
		running: map[eval.Arm]int{}}
	for _, c := range todo {
		p.left[c.Arm]++
	}
	return p
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// eta estimates the time left: for each arm, its cells left times the mean duration of its
// cells finished in this run (the mean over all arms when none of it finished yet; a
// running cell counts half), plus the pretrainings left times their mean duration, divided
// among the workers. ok is false before anything finished.
func (p *progress) eta() (time.Duration, bool) {
	var all []float64
	for _, xs := range p.armSeconds {
		all = append(all, xs...)
	}
	if len(all) == 0 {
		return 0, false
	}
	var secs float64
	for arm, n := range p.left {
		d := mean(all)
		if xs := p.armSeconds[arm]; len(xs) > 0 {
			d = mean(xs)
		}
		secs += (float64(n) - float64(p.running[arm])/2) * d // running cells are half done on average
	}
	if p.pretrainsLeft > 0 {
		if len(p.pretrainSeconds) == 0 {
			return 0, false
		}
		secs += float64(p.pretrainsLeft) * mean(p.pretrainSeconds)
	}
	return time.Duration(secs / float64(p.workers) * float64(time.Second)), true
}

func (p *progress) status() string {
	elapsed := time.Since(p.start).Round(time.Second)
	run := 0
	for _, n := range p.running {
		run += n
	}
	eta := "?"
	if d, ok := p.eta(); ok {
		eta = d.Round(time.Second).String()
	}
	return fmt.Sprintf("[%d/%d done, %d running, %d left | elapsed %s, ETA %s]",
		p.done, p.total, run, p.total-p.done-run, elapsed, eta)
}

func (p *progress) cellStart(c Cell) {
	p.running[c.Arm]++
	fmt.Fprintf(p.w, "%s running %s\n", p.status(), c.Key())
}

func (p *progress) cellDone(r Result) {
	p.done++
	p.left[r.Arm]--
	p.running[r.Arm]--
	p.armSeconds[r.Arm] = append(p.armSeconds[r.Arm], r.Seconds)
	took := time.Duration(r.Seconds * float64(time.Second)).Round(time.Second)
	if dice, ok := r.Metrics["dice"]; ok { // a segmentation cell: its interval and selection are Dice's
		fmt.Fprintf(p.w, "%s finished %s: test Dice %.3f [%.3f, %.3f] IoU %.3f HD95 %.2f mm (val Dice %.3f, %s, %d labelled volumes)\n",
			p.status(), r.Key(), dice, r.AUCLow, r.AUCHigh, r.Metrics["iou"], r.Metrics["hd95"], r.ValAUC, took, r.TrainN)
		return
	}
	fmt.Fprintf(p.w, "%s finished %s: test AUC %.3f [%.3f, %.3f] ACC %.3f balanced ACC %.3f (val AUC %.3f, %s, %d labelled images)\n",
		p.status(), r.Key(), r.Metrics["auc"], r.AUCLow, r.AUCHigh, r.Metrics["acc"], r.Metrics["balanced_acc"], r.ValAUC, took, r.TrainN)
}

func (p *progress) pretrainStart(name string) {
	fmt.Fprintf(p.w, "%s pretraining %s\n", p.status(), name)
}

func (p *progress) pretrainDone(rec *Pretraining, seconds float64) {
	p.pretrainsLeft--
	p.pretrainSeconds = append(p.pretrainSeconds, seconds)
	last := "n/a"
	if n := len(rec.Loss); n > 0 {
		last = fmt.Sprintf("%.4f", rec.Loss[n-1])
	}
	fmt.Fprintf(p.w, "%s pretrained %s: %d steps, last loss %s, %s\n", p.status(), rec.Name, rec.Steps, last,
		time.Duration(seconds*float64(time.Second)).Round(time.Second))
}
