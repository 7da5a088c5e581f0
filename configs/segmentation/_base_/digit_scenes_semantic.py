# Digit scenes (visionattn.data.digit_scenes) as semantic segmentation: 128x128 canvases, label maps with
# 0 = background and 1 + d for digit d (11 classes, background included). No download.
dataset_type = 'BaseSegDataset'
data_root = 'data/digit_scenes/'
metainfo = dict(classes=('background',) + tuple(str(d) for d in range(10)),
                palette=[[0, 0, 0]] + [[25 * d, 255 - 20 * d, (90 * d) % 256] for d in range(10)])
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
seg_dataset = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.png',
                seg_map_suffix='.png', reduce_zero_label=False)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(seg_dataset, data_prefix=dict(img_path='images/train', seg_map_path='annotations/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(seg_dataset, data_prefix=dict(img_path='images/val', seg_map_path='annotations/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
