# multi-scale training of the Swin-Transformer-Object-Detection 1x configs (DETR / Sparse R-CNN augmentation)
swin_multiscale_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='RandomChoiceResize',
                 scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640),
                         (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
                 keep_ratio=True)
        ], [
            dict(type='RandomChoiceResize', scales=[(1333, 400), (1333, 500), (1333, 600)], keep_ratio=True),
            dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
            dict(type='RandomChoiceResize',
                 scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640),
                         (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
                 keep_ratio=True)
        ]]),
    dict(type='PackDetInputs')
]
