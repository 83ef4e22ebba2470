#!/usr/bin/env python3
# Would a learned "is this an emergency?" check generalise to callers' words nobody has read?
#
#   pip install scikit-learn && python3 scripts/emergency_check_experiment.py
#
# Trains a char 1-3-gram TF-IDF + logistic regression on the emergency sets that were read while
# writing the hand-off rules (positives) and on their non-emergency sets and the development
# corpus (negatives), then reports the share of each held-out set it flags (tests/emergencies.rs
# says which files are held out), and the corpus rows it flags when each fifth of the corpus is
# scored by a model trained without it. An experiment for docs/accuracy.md, not part of the
# service; it reads ../shared/data and copies nothing from it.
import json, os, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
ROOT=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D=os.path.join(ROOT,'tests/data')
def load(f): return [json.loads(l) for l in open(f'{D}/{f}') if l.strip()]
em=load('emergencies.jsonl'); even=[c for i,c in enumerate(em) if i%2==0]; odd=[c for i,c in enumerate(em) if i%2==1]
train_pos=even+load('emergencies-more.jsonl')+sum((load(f'emergencies-{n}.jsonl') for n in ['third','fifth','sixth','seventh']),[])
train_neg=sum((load(f'non-emergencies{n}.jsonl') for n in ['','-more','-third','-fifth','-sixth','-seventh']),[])
corpus=[json.loads(l) for l in open(os.path.join(ROOT,'../shared/data/citizen-messages-dev.jsonl')) if l.strip()]
corpus=[r.get('text','') for r in corpus if r.get('text')]
base_X=[c['text'] for c in train_pos]+[c['text'] for c in train_neg]; base_y=[1]*len(train_pos)+[0]*len(train_neg)
def fit(ordinary):
    # Returns p(emergency) for a list of texts, from a model trained on the sets read plus `ordinary`.
    vec=TfidfVectorizer(analyzer='char',ngram_range=(1,3),sublinear_tf=True)
    clf=LogisticRegression(C=10,max_iter=2000,class_weight='balanced').fit(vec.fit_transform(base_X+ordinary),base_y+[0]*len(ordinary))
    return lambda texts: clf.predict_proba(vec.transform(texts))[:,1]
score=fit(corpus)
def rate(texts,th): return sum(score(texts)>=th)/len(texts)
held_pos={'odd lines':[c['text'] for c in odd],'fourth':[c['text'] for c in load('emergencies-fourth.jsonl')],'eighth':[c['text'] for c in load('emergencies-eighth.jsonl')]}
held_neg={'non-fourth':[c['text'] for c in load('non-emergencies-fourth.jsonl')],'non-eighth':[c['text'] for c in load('non-emergencies-eighth.jsonl')]}
for th in [0.3,0.5,0.7]:
    print(f"threshold {th}: " + ", ".join(f"{k} flagged {rate(v,th):.3f}" for k,v in {**held_pos,**held_neg}.items()))
# Corpus false alarms, 5-fold: each fold of the corpus scored by a model trained without it.
import random
idx=list(range(len(corpus))); random.Random(7).shuffle(idx)
flags={0.5:0,0.7:0}
for k in range(5):
    test=set(idx[k::5]); tr=[corpus[i] for i in range(len(corpus)) if i not in test]; te=[corpus[i] for i in sorted(test)]
    p=fit(tr)(te)
    for th in flags: flags[th]+=int(sum(p>=th))
print("corpus rows flagged (5-fold held out): " + ", ".join(f"threshold {th}: {n}/{len(corpus)} = {n/len(corpus):.4f}" for th,n in flags.items()))
