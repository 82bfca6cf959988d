"""The contract between the model, the exporter and the page, named once.

The page reads these values from the `app-config` JSON the build renders into
index.html (see `site.page_config`), so the browser never repeats the literals.
"""

IMAGE_SIZE = 28  # side of the model's input image, pixels (MNIST)
FIT_SIZE = 20  # longer side of the digit after MNIST-style scaling, pixels
NUM_DIGITS = 10  # digits 0-9
NOT_A_DIGIT = NUM_DIGITS  # the model's 11th output: the drawing is not a digit (pipeline/data/nondigits.py)
NUM_CLASSES = NUM_DIGITS + 1  # the model's outputs: the ten digits, then "not a digit"
LABELS = tuple(str(d) for d in range(NUM_DIGITS))  # the digits' names; "not a digit" is shown as "?"
NOT_A_DIGIT_LABEL = "not a digit"  # NOT_A_DIGIT's name: the page's 11th row, and the label of a drawing the visitor says is none
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # one float32 image: white ink on black, 0-1

# The exported graph model's two outputs (signature names): what the page reads, and the
# input of the model's last layer, from which the page learns a visitor's hand (js/adapt.js).
PROBABILITIES_OUTPUT = "probabilities"  # (N, NUM_CLASSES) calibrated softmax: digits 0-9, then NOT_A_DIGIT
FEATURES_OUTPUT = "features"  # (N, F) the last layer's input; F is the model's, read from model.json

# Doubt: when the page and `pipeline predict` name no digit. The probabilities are calibrated
# (pipeline/calibration.py), so these are odds a reader can take at their word.
DOUBT_BELOW = 0.5  # a digit whose top probability is below this, or whose top class is NOT_A_DIGIT, is shown as "?"
TORN_ABOVE = 0.8  # ... and when its top two hold at least this together, it is "4 or 9?", else "not a digit"

# Segmentation: which marks of a number make up which digit, read left to right. Applied to an image's ink by
# pipeline/tools/segment.py (`pipeline predict`) and to the page's strokes by site_template/js/segment.js; each
# module lists the rules. Sizes are × the typical digit height: the median height of the marks at least
# SEGMENT_TYPICAL × as tall as the tallest (a digit whose ink broke leaves short marks that must not set it).
SEGMENT_TYPICAL = 0.7  # marks at least this fraction of the tallest one's height set the typical digit height
SEGMENT_OVERLAP = 0.5  # fraction of the narrower group's width two groups must overlap by to be one digit
SEGMENT_SMALL = 0.3  # a group whose longer side is under this × the typical height is a fragment (a dot, a tick)
SEGMENT_NEAR = 0.5  # a fragment joins the nearest group at most this × the typical height away
SEGMENT_PART = 0.6  # a group shorter than this × the typical height may be part of a digit ...
SEGMENT_PART_GAP = 0.25  # ... and joins the nearer neighbour at most this × the typical height to its side
SEGMENT_TALLEST = 1.3  # ... if together they are at most this × the typical height high
SEGMENT_WIDEST = 1.5  # ... and this × it wide (unless their extents overlap)
# The page's rules on strokes alone (an image has no strokes: its marks already touch or not):
SEGMENT_TOUCH = 0.05  # a stroke's end this close to another's ink (× the taller group's height) touches it
SEGMENT_LOOK = {"gap": 0.5, "tallest": 1.5, "widest": 2}  # a second look: neighbours the model doubts are read
# again as one when their gap, joined height and joined width are at most these × the typical height

# The pen. The pad's is what a visitor sees; the model reads each digit rendered again on its own with a pen
# that fits the digit's size, whatever the pad's (js/drawing.js digitInk), and so do the non-digits it learns.
PAD_PEN = 1 / 32  # the pad's pen width / the pad's height: room for four digits side by side
DIGIT_PEN = 0.12  # pen width / a digit's longer side when it is rendered for the model: about 2 px of FIT_SIZE
DIGIT_SIDE = 80  # pixels of a digit's longer side when it is rendered for the model (then fitted to FIT_SIZE)
