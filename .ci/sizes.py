#!/usr/bin/env python3
"""Sizes a person can hold (ARCHITECTURE.md): prints every source file over 600 lines
and every non-test function over N lines (default 80) under the given folders, and
exits 1 if it printed anything. Usage: .ci/sizes.py 80 src crates/sandbox/src"""
import re,sys,os
found=[]

N=int(sys.argv[1]) if len(sys.argv)>1 else 80
roots=sys.argv[2:] or ['src']
for root in roots:
  for dp,dn,fn in os.walk(root):
    for f in fn:
        if not f.endswith('.rs'): continue
        p=os.path.join(dp,f); lines=open(p).read().split('\n')
        # cut test module
        end=len(lines)
        for i,l in enumerate(lines):
            if re.match(r'\s*#\[cfg\(test\)\]',l):
                end=i;break
        if f=='tests.rs' or '/tests/' in p: end=0 if 'crates' not in p else len(lines)
        n=len(lines)
        if n>600: found.append(f"FILE {n:5d} {p} (non-test {end})")
        i=0
        while i<end:
            m=re.match(r'^(\s*)(pub(\([^)]*\))? )?(async )?(const )?(unsafe )?fn (\w+)',lines[i])
            if m:
                ind=m.group(1)
                j=i
                while j<end and not (lines[j].startswith(ind+'}') and len(lines[j].rstrip())==len(ind)+1):
                    if lines[j].rstrip().endswith(';') and j==i: break
                    j+=1
                L=j-i+1
                if L>N: found.append(f"FN {L:4d} {p}:{i+1} {m.group(7)}")
            i+=1

for line in found:
    print(line)
sys.exit(1 if found else 0)
