#!/bin/bash
# Q-ALIGN eta_align 10 from s13-halfcheetah-medium-mid's step-12,000 state and critic, then both seed sets: session
# 12's Walker2d-medium eta script with the task and folders as arguments (what ran was a copy of it with those changed,
# at nice 5, the two evaluations one after the other). Resumable.
exec "$(dirname "$0")/../s12-walker-medium-eta/run.sh" halfcheetah hc-medium hc-eta
