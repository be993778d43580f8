#!/bin/bash
# throwaway: prio experiment
C=$PWD/.devcarry/h200
export ECLIP_LIBRARY=$C/exp/libeclip_c.so.0 LD_LIBRARY_PATH=$C/exp:$C PYTHONPATH=$C/python PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader
B1='{"sb 4/4/3/5":{"split":[4,4,3,5]},"alb+ 4/4/3/5":{"split":[4,4,3,5],"segment":[[0],[0],[16],[0]]},"alb+ 5/5/1/5":{"split":[5,5,1,5],"segment":[[0],[0],[16],[0]]},"alb+ 6/4/1/5":{"split":[6,4,1,5],"segment":[[0],[0],[16],[0]]},"alb+ 4/6/1/5":{"split":[4,6,1,5],"segment":[[0],[0],[16],[0]]},"alb+ 5/4/1/6":{"split":[5,4,1,6],"segment":[[0],[0],[16],[0]]}}'
B8='{"sb 4/4/3/5":{"split":[4,4,3,5]},"alb+ 4/4/3/5":{"split":[4,4,3,5],"segment":[[0],[0],[16],[0]]},"alb+ 5/5/1/5":{"split":[5,5,1,5],"segment":[[0],[0],[16],[0]]},"alb+alx+ 4/4/4/4":{"split":[4,4,4,4],"segment":[[0],[0],[16],[16]]},"alb+ 4/5/2/5":{"split":[4,5,2,5],"segment":[[0],[0],[16],[0]]}}'
for b in 1 8; do
  [ $b = 1 ] && J=$B1 || J=$B8
  timeout 150 python3 $C/exp/prio.py $b mix6 $OUT/noprio_b$b.json "$J" 2>&1 | grep -v Warning | tee -a $OUT/log.txt
  ECLIP_EXPERIMENT_WHOLE_PRIORITY=-5 timeout 150 python3 $C/exp/prio.py $b mix6 $OUT/prio_b$b.json "$J" 2>&1 | grep -v Warning | tee -a $OUT/log.txt
done
