# The IDE/tray captures' QMP transcript helper: ../qmp_transcript.py with its defaults.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qmp_transcript import *
