# The block captures' QMP transcript helper: ../qmp_transcript.py with the settings these transcripts were
# taken with (their socket, 0.5 s for events, no event drain before quit).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import qmp_transcript
from qmp_transcript import fail


class Q(qmp_transcript.Q):
    def __init__(self, args, out, sock="/tmp/ref/blockdev-qmp.sock"):
        super().__init__(args, out, sock, events_wait=0.5, drain_on_close=False)
