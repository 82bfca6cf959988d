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
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # one float32 image: white ink on black, 0-1

# The exported graph model's two outputs (signature names): what the page reads, and the
# input of the model's last layer, from which the page learns a visitor's hand (js/adapt.js).
PROBABILITIES_OUTPUT = "probabilities"  # (N, NUM_CLASSES) calibrated softmax: digits 0-9, then NOT_A_DIGIT
FEATURES_OUTPUT = "features"  # (N, F) the last layer's input; F is the model's, read from model.json

# Doubt: when the page and `pipeline predict` name no digit. The probabilities are calibrated
# (pipeline/calibration.py), so these are odds a reader can take at their word.
DOUBT_BELOW = 0.5  # a digit whose top probability is below this, or whose top class is NOT_A_DIGIT, is shown as "?"
TORN_ABOVE = 0.8  # ... and when its top two hold at least this together, it is "4 or 9?", else "not a digit"
