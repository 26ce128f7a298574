#!/bin/bash
# HalfCheetah-medium `mid` pair, seed 0, and the stale shipped pair on the same protocol: session 12's Walker2d-medium
# script with the task and output folder as arguments (what ran was a copy of it with those two changed). Resumable.
# usage: experiments/s13-halfcheetah-medium-mid/run.sh   (needs the rebuilt halfcheetah medium data)
exec "$(dirname "$0")/../s12-walker-medium-mid/run.sh" halfcheetah hc-medium
