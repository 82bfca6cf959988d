import time, numpy as np, keras
from keras import layers as L
from pipeline.augment import DigitAugmentation
def net(kind):
    i = keras.Input((28,28,1)); x = i
    def cbr(x, f, pad="same"):
        x = L.Conv2D(f, 3, padding=pad, use_bias=False)(x); x = L.BatchNormalization()(x); return L.ReLU()(x)
    if kind == "vgg32-64":
        x = cbr(x,32); x = cbr(x,32); x = L.MaxPooling2D()(x); x = cbr(x,64); x = cbr(x,64); x = L.MaxPooling2D()(x)
        x = L.Flatten()(x); x = L.Dense(128)(x)
    if kind == "c16-32-64":
        x = cbr(x,16); x = cbr(x,32); x = L.MaxPooling2D()(x); x = cbr(x,48); x = cbr(x,64); x = L.MaxPooling2D()(x)
        x = L.Flatten()(x); x = L.Dense(128)(x)
    if kind == "c32p-64-64":
        x = cbr(x,32); x = L.MaxPooling2D()(x); x = cbr(x,64); x = cbr(x,64); x = L.MaxPooling2D()(x); x = cbr(x,128); x = L.GlobalAveragePooling2D()(x)
    if kind == "valid32-32-64":
        x = cbr(x,32,"valid"); x = cbr(x,32,"valid"); x = L.MaxPooling2D()(x); x = cbr(x,64,"valid"); x = L.MaxPooling2D()(x)
        x = L.Flatten()(x); x = L.Dense(128)(x)
    if kind == "c24-48":
        x = cbr(x,24); x = L.MaxPooling2D()(x); x = cbr(x,48); x = cbr(x,48); x = L.MaxPooling2D()(x); x = cbr(x,96,"valid"); 
        x = L.Flatten()(x); x = L.Dense(128)(x)
    o = L.Dense(10, activation="softmax")(L.Dropout(0.3)(x))
    return keras.Model(i, o)
x = np.random.rand(256*8, 28, 28, 1).astype("float32"); y = np.random.randint(0,10,len(x))
for kind in ["vgg32-64","c16-32-64","c32p-64-64","valid32-32-64","c24-48"]:
  for aug in [False, True]:
    m = net(kind)
    model = keras.Sequential([DigitAugmentation(seed=1), m]) if aug else m
    model.compile("adam", "sparse_categorical_crossentropy")
    for bs in [128, 256]:
        model.fit(x[:bs*2], y[:bs*2], batch_size=bs, epochs=1, verbose=0)
        t = time.perf_counter(); model.fit(x, y, batch_size=bs, epochs=1, verbose=0); dt = time.perf_counter()-t
        print(f"{kind:15s} aug={aug!s:5s} bs={bs} params={m.count_params():7d} {len(x)/dt:6.0f} img/s  -> {55000/(len(x)/dt):5.1f} s/epoch", flush=True)
